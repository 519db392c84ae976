"""Gate public keys, read from the gates table and cached for the worker thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import Gate
from protocol.keys import PublicKey

log = logging.getLogger(__name__)


class GateKeyring:
    """``lookup(gate_id)`` for :func:`protocol.open_envelope`; unknown gates are re-read each time,
    so a gate added while ingest runs is accepted at once."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._keys: dict[str, PublicKey] = {}
        self._lock = threading.Lock()

    def lookup(self, gate_id: str) -> PublicKey | None:
        with self._lock:
            cached = self._keys.get(gate_id)
        if cached is not None:
            return cached
        with self._sessions() as session:
            text = session.scalar(select(Gate.public_key).where(Gate.id == gate_id))
        if text is None:
            return None
        try:
            key = PublicKey.from_b64(text)
        except ValueError:
            log.error("gate %s: stored public key is not a valid Ed25519 key", gate_id)
            return None
        with self._lock:
            self._keys[gate_id] = key
        return key

    def forget(self, gate_id: str) -> None:
        """Drop a cached key (after the gate's key was rotated)."""
        with self._lock:
            self._keys.pop(gate_id, None)
