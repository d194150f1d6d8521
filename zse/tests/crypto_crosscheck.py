#!/usr/bin/env python3
"""Independent reference for zse's security primitives (driven by tests/crypto_crosscheck.rs).

Reads one JSON object on stdin, writes one JSON object on stdout. Uses only the standard library
and the `cryptography` package (AES-ECB, AES-CTR and AES-CCM from OpenSSL), so that nothing is
shared with the Rust implementation but the specification text:

* "crc":   list of hex strings          -> list of CRC-16/X-25 values (ints), bit by bit
* "mmo":   list of hex strings          -> list of AES-MMO-128 hashes (hex), ZigBee Annex B.6
                                           padding incl. the >= 2^16-bit long form
* "link_keys": list of install codes    -> list of link keys (hex) = MMO(code incl. CRC)
  (hex, incl. CRC)
* "hmac":  list of {key, message}       -> list of HMAC-MMO values (hex), ZigBee Annex B.1.4
* "ccm":   list of {key, nonce, aad,    -> list of {payload, mic} (hex): ZigBee CCM* at the
            payload} (hex; the level is    level in nonce byte 12 (se10.md sections 8.4, 8.6):
            the low 3 bits of nonce[12])   0 nothing; 1-3 MIC over a = aad||payload, m empty;
                                           4 CTR from counter 1, no MIC; 5-7 AES-CCM
"""

import json
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM


def crc16_x25(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def mmo(data: bytes) -> bytes:
    bits = len(data) * 8
    m = bytearray(data) + b"\x80"
    if bits < 1 << 16:
        while len(m) % 16 != 14:
            m.append(0)
        m += bits.to_bytes(2, "big")
    else:
        while len(m) % 16 != 10:
            m.append(0)
        m += (bits & 0xFFFFFFFF).to_bytes(4, "big") + b"\x00\x00"
    h = bytes(16)
    for i in range(0, len(m), 16):
        block = bytes(m[i : i + 16])
        h = bytes(a ^ b for a, b in zip(aes_ecb_encrypt(h, block), block))
    return h


def hmac_mmo(key: bytes, message: bytes) -> bytes:
    inner = mmo(bytes(b ^ 0x36 for b in key) + message)
    return mmo(bytes(b ^ 0x5C for b in key) + inner)


MIC_LEN = [0, 4, 8, 16, 0, 4, 8, 16]


def ccm_star(key: bytes, nonce: bytes, aad: bytes, payload: bytes) -> dict:
    level = nonce[12] & 0x07
    mic_len = MIC_LEN[level]
    if level == 0:
        return {"payload": payload.hex(), "mic": ""}
    if level < 4:
        # MIC only: AES-CCM over an empty message with the payload in the associated data.
        tag = AESCCM(key, tag_length=mic_len).encrypt(nonce, b"", aad + payload)
        return {"payload": payload.hex(), "mic": tag.hex()}
    if level == 4:
        a1 = bytes([0x01]) + nonce + (1).to_bytes(2, "big")
        enc = Cipher(algorithms.AES(key), modes.CTR(a1)).encryptor()
        return {"payload": (enc.update(payload) + enc.finalize()).hex(), "mic": ""}
    out = AESCCM(key, tag_length=mic_len).encrypt(nonce, payload, aad)
    return {"payload": out[: len(payload)].hex(), "mic": out[len(payload) :].hex()}


def main() -> None:
    req = json.load(sys.stdin)
    unhex = bytes.fromhex
    resp = {
        "crc": [crc16_x25(unhex(x)) for x in req.get("crc", [])],
        "mmo": [mmo(unhex(x)).hex() for x in req.get("mmo", [])],
        "link_keys": [mmo(unhex(x)).hex() for x in req.get("link_keys", [])],
        "hmac": [hmac_mmo(unhex(c["key"]), unhex(c["message"])).hex() for c in req.get("hmac", [])],
        "ccm": [
            ccm_star(unhex(c["key"]), unhex(c["nonce"]), unhex(c["aad"]), unhex(c["payload"]))
            for c in req.get("ccm", [])
        ],
    }
    json.dump(resp, sys.stdout)


if __name__ == "__main__":
    main()
