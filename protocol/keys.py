"""Ed25519 keys: one pair per gate and one for central.

Gates sign what they publish; central holds only their public keys, so a stolen database
cannot be used to impersonate a gate. Central signs commands; a gate holds only central's
public key, so nobody who can publish on the broker can open a door. Keys travel as
base64 of the raw 32 bytes; files hold the private seed and are written 0600.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, PublicFormat, NoEncryption


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """A verifying key, as stored in central's gate table or a gate's configuration."""

    raw: bytes

    @classmethod
    def from_b64(cls, text: str) -> "PublicKey":
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(raw)

    @property
    def b64(self) -> str:
        return _b64(self.raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


class KeyPair:
    """A signing key and its public half."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = PublicKey(raw_public)

    @classmethod
    def from_seed_b64(cls, text: str) -> "KeyPair":
        seed = base64.b64decode(text.strip().encode("ascii"), validate=True)
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def seed_b64(self) -> str:
        return _b64(self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def save(self, path: Path) -> None:
        """Write the private seed to *path*, readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(self.seed_b64 + "\n")

    @classmethod
    def load(cls, path: Path) -> "KeyPair":
        return cls.from_seed_b64(Path(path).read_text(encoding="ascii"))

    def __repr__(self) -> str:  # never print the seed
        return f"KeyPair(public={self.public.b64})"


def generate_keypair() -> KeyPair:
    return KeyPair(Ed25519PrivateKey.generate())
