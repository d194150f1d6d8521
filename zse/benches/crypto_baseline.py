"""Same-run baseline for `benches/security.rs`, using the `cryptography` package (OpenSSL AES).

* link_key: AES-MMO of an 18-byte install code (16-byte code + CRC) built from AES-ECB block
  encryptions, the way a Python provisioning tool would do it;
* ccm: AES-CCM with a 4-byte tag (ZigBee level 5) encrypt + decrypt of an 80-byte payload with a
  13-byte nonce and 13 bytes of header as associated data.
Prints {"link_key_per_s": ..., "ccm_mib_per_s": ...}.
"""

import json
import sys
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM


def aes_mmo(data):
    bits = len(data) * 8
    m = bytearray(data) + b"\x80"
    while len(m) % 16 != 14:
        m += b"\x00"
    m += bits.to_bytes(2, "big")
    h = bytes(16)
    for i in range(0, len(m), 16):
        block = bytes(m[i:i + 16])
        enc = Cipher(algorithms.AES(h), modes.ECB()).encryptor()
        out = enc.update(block) + enc.finalize()
        h = bytes(a ^ b for a, b in zip(out, block))
    return h


def rate(fn, seconds):
    fn()
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(100):
            fn()
        n += 100
        t = time.perf_counter() - start
        if t >= seconds:
            return n / t


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    code = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
    assert aes_mmo(code).hex().upper() == "66B6900981E1EE3CA4206B6B861C02BB"
    ccm = AESCCM(bytes([0x5A]) * 16, tag_length=4)
    nonce = bytes(13)
    aad = bytes(13)
    payload = bytes([0xA5]) * 80

    def ccm_once():
        ct = ccm.encrypt(nonce, payload, aad)
        ccm.decrypt(nonce, ct, aad)

    out = {
        "link_key_per_s": rate(lambda: aes_mmo(code), seconds),
        "ccm_mib_per_s": rate(ccm_once, seconds) * 80 / (1024 * 1024),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
