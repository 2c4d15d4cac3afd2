#!/usr/bin/env python3
"""A toy C2SP log, independent of sigtrail, to drive sigtrail-witness by hand.

It signs checkpoints (c2sp.org/signed-note, Ed25519) of a tree whose leaf i
is the RFC 6962 leaf hash of "entry i", or with --fork of "fork entry i" from
leaf 6 on, and writes tlog-witness add-checkpoint bodies with RFC 9162
consistency proofs. Its key is fixed (derived from a constant), so every run
is the same log. Needs the `cryptography` package.

    toylog.py vkey                       the log's verifier key
    toylog.py request OLD NEW [--fork]   an add-checkpoint body, OLD -> NEW
"""

import base64
import hashlib
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ORIGIN = "toylog.example/demo"
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"toylog demo key").digest())
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
KEY_ID = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + PUBLIC).digest()[:4]


def leaf(i, fork):
    prefix = "fork entry" if fork and i >= 6 else "entry"
    data = f"{prefix} {i}".encode()
    return hashlib.sha256(b"\x00" + data).digest()


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def subproof(m, leaves, whole):
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], whole) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def b64(data):
    return base64.b64encode(data).decode()


def checkpoint(leaves):
    text = f"{ORIGIN}\n{len(leaves)}\n{b64(mth(leaves))}\n"
    signature = b64(KEY_ID + KEY.sign(text.encode()))
    return f"{text}\n\u2014 {ORIGIN} {signature}\n"


def main(args):
    if args == ["vkey"]:
        print(f"{ORIGIN}+{KEY_ID.hex()}+" + b64(b"\x01" + PUBLIC))
        return
    if len(args) in (3, 4) and args[0] == "request" and args[3:] in ([], ["--fork"]):
        old, new = int(args[1]), int(args[2])
        leaves = [leaf(i, args[3:] == ["--fork"]) for i in range(new)]
        proof = subproof(old, leaves, True) if 0 < old <= new else []
        body = f"old {old}\n" + "".join(b64(h) + "\n" for h in proof) + "\n"
        sys.stdout.write(body + checkpoint(leaves))
        return
    sys.exit(__doc__)


main(sys.argv[1:])
