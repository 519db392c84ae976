"""``autogate keys``: generate signing keys for central and gates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from protocol.keys import generate_keypair


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autogate keys", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    gen = sub.add_parser("generate", help="write a new private key file and print its public key")
    gen.add_argument("path", type=Path, help="where to write the private key (mode 0600)")
    gen.add_argument("--force", action="store_true", help="overwrite an existing key file")
    args = parser.parse_args(argv)
    if args.path.exists() and not args.force:
        parser.error(f"{args.path} exists; refusing to overwrite a key without --force")
    pair = generate_keypair()
    pair.save(args.path)
    print(json.dumps({"private_key_file": str(args.path), "public_key": pair.public.b64}))
    return 0
