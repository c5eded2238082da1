#!/usr/bin/env python3
"""Recomputes the AKMA push test vector of docs/akma-push.md with Python's hmac/hashlib and
the `cryptography` package's AES-GCM (no code of this project), and checks the document's
figures. Exit status 0 when every figure matches. Run: python3 docs/examples/akma_push_vector.py
"""
import hashlib
import hmac
import pathlib
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DOC = pathlib.Path(__file__).resolve().parent.parent / "akma-push.md"


def field(doc, name):
    for line in doc.splitlines():
        if line.startswith(name + ":"):
            return line[len(name) + 1:].strip().strip("`")
    sys.exit(f"docs/akma-push.md has no line '{name}: ...'")


def main():
    doc = DOC.read_text()
    k_akma = bytes.fromhex(field(doc, "K_AKMA"))
    a_kid = field(doc, "A-KID").encode()
    fqdn = field(doc, "AF FQDN").encode()
    nonce = bytes.fromhex(field(doc, "nonce"))
    counter = int(field(doc, "counter"))
    plaintext = field(doc, "plaintext").encode()

    # TS 33.220 B.2 KDF: HMAC-SHA-256(key, FC || P0 || L0), P0 = FQDN || 01 00 00 00 05.
    p0 = fqdn + bytes([1, 0, 0, 0, 5])
    k_af_push = hmac.new(k_akma, bytes([0x82]) + p0 + len(p0).to_bytes(2, "big"), hashlib.sha256).digest()
    # RFC 5869 HKDF-SHA-256, salt = nonce, info = "AKMA-push-v1" || counter, L = 44.
    prk = hmac.new(nonce, k_af_push, hashlib.sha256).digest()
    info = b"AKMA-push-v1" + counter.to_bytes(8, "big")
    t1 = hmac.new(prk, info + b"\x01", hashlib.sha256).digest()
    t2 = hmac.new(prk, t1 + info + b"\x02", hashlib.sha256).digest()
    k_msg, iv = t1, t2[:12]
    header = (bytes([1]) + len(a_kid).to_bytes(2, "big") + a_kid + len(fqdn).to_bytes(2, "big") + fqdn
              + nonce + counter.to_bytes(8, "big"))
    message = header + AESGCM(k_msg).encrypt(iv, plaintext, header)

    ok = True
    for name, value in [("K_AF_push", k_af_push), ("K_msg", k_msg), ("IV", iv),
                        ("header", header), ("message", message)]:
        want = field(doc, name)
        if want != value.hex():
            print(f"{name}: document {want}, computed {value.hex()}")
            ok = False
    print("vector matches" if ok else "vector differs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
