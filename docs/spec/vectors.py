#!/usr/bin/env python3
"""Regenerates the test vectors of docs/spec/entry.md and
docs/spec/note-formats.md with an implementation independent of sigtrail's
(Python's `cryptography` package, on OpenSSL). Ed25519 is deterministic, so
the output never changes; the sigtrail-note tests check that the Rust code
produces and accepts exactly these bytes.

Usage: python3 docs/spec/vectors.py
"""

import base64
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key(name: str, type_byte: int, label: str):
    """A key whose seed is SHA-256(label), in signer and verifier key form."""
    seed = hashlib.sha256(label.encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    material = bytes([type_byte]) + public
    key_id = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
    skey = f"PRIVATE+KEY+{name}+{key_id.hex()}+{b64(bytes([type_byte]) + seed)}"
    vkey = f"{name}+{key_id.hex()}+{b64(material)}"
    return private, key_id, skey, vkey


def signed_note(text: str, name: str, key_id: bytes, signature: bytes) -> str:
    return f"{text}\n\u2014 {name} {b64(key_id + signature)}\n"


def entry():
    private, key_id, skey, vkey = key("release.example.com", 0x01, "sigtrail entry example key")
    subject = hashlib.sha256(b"test").hexdigest()
    text = (
        "sigtrail/v1/signing-event\n"
        f"subject sha256:{subject}\n"
        "name pkg:cargo/example@1.4.2\n"
        f"key {vkey}\n"
        "time 2026-11-25T10:00:00Z\n"
    )
    note = signed_note(text, "release.example.com", key_id, private.sign(text.encode()))
    leaf = hashlib.sha256(b"\x00" + note.encode()).digest()
    print("# entry signer key\n" + skey)
    print("# entry\n" + note, end="")
    print("# entry leaf hash\n" + b64(leaf))


def cosignature():
    private, key_id, skey, vkey = key("witness.example.com/w1", 0x04, "sigtrail cosignature example key")
    checkpoint = (
        "example.com/behind-the-sofa\n"
        "20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    timestamp = 1679315147
    message = f"cosignature/v1\ntime {timestamp}\n{checkpoint}".encode()
    signature = struct.pack(">Q", timestamp) + private.sign(message)
    print("# cosigner key\n" + skey)
    print("# cosigner vkey\n" + vkey)
    print("# cosignature line\n" + f"\u2014 witness.example.com/w1 {b64(key_id + signature)}")


if __name__ == "__main__":
    entry()
    cosignature()
