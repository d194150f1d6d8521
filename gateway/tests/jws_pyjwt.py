"""Independent ES256 JWS implementation for the gateway's cross-check (PyJWT + cryptography).

stdin: {"kid", "payload", "rust_token", "rust_public_pem", "rust_private_pem"}
stdout: {"rust_token_claims", "rust_token_header", "token_rust_key",
         "py_kid", "py_public_pem", "py_jwk", "token_py_key"}
"""
import json
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

inp = json.load(sys.stdin)
kid = inp["kid"]
payload = inp["payload"]

# 1. Verify the token Rust signed, with the public key Rust exported.
header = jwt.get_unverified_header(inp["rust_token"])
claims = jwt.decode(
    inp["rust_token"],
    key=serialization.load_pem_public_key(inp["rust_public_pem"].encode()),
    algorithms=["ES256"],
)
# PyJWT must also refuse a token whose payload was altered.
h, p, s = inp["rust_token"].split(".")
try:
    forged = dict(claims, text="forged")
    p2 = jwt.utils.base64url_encode(json.dumps(forged).encode()).decode()
    jwt.decode(h + "." + p2 + "." + s,
               key=serialization.load_pem_public_key(inp["rust_public_pem"].encode()),
               algorithms=["ES256"])
    raise SystemExit("PyJWT accepted a tampered Rust token")
except jwt.InvalidTokenError:
    pass

# 2. Sign with Rust's private key (PKCS#8 PEM as Rust wrote it).
rust_private = serialization.load_pem_private_key(inp["rust_private_pem"].encode(), password=None)
token_rust_key = jwt.encode(payload, rust_private, algorithm="ES256", headers={"kid": kid})

# 3. A key of Python's own, exported as PEM and as a JWK.
py_key = ec.generate_private_key(ec.SECP256R1())
py_public_pem = py_key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()
py_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(py_key.public_key()))
py_kid = "py-" + kid
token_py_key = jwt.encode(payload, py_key, algorithm="ES256", headers={"kid": py_kid})

json.dump(
    {
        "rust_token_claims": claims,
        "rust_token_header": header,
        "token_rust_key": token_rust_key,
        "py_kid": py_kid,
        "py_public_pem": py_public_pem,
        "py_jwk": py_jwk,
        "token_py_key": token_py_key,
    },
    sys.stdout,
)
