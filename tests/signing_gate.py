"""What several test areas share: a fixed clock, a sample traveler, and a fake gate that signs
messages the way a gate does. A module of its own at the top of tests/ (on the path through
tests/conftest.py), by a name no test directory uses, so each area's support module imports it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from protocol import GateState, Heartbeat, KeyPair, TravelerDocument, generate_keypair, seal
from protocol.topics import gate_events, gate_health, gate_state

NOW_S = 1_790_000_000.0
NOW_MS = int(NOW_S * 1000)

TRAVELER = TravelerDocument(
    document_number="X1234567",
    document_type="P",
    issuing_state="IDN",
    expiry_date=date(2030, 1, 1),
    given_names="SITI",
    surname="RAHAYU",
    sex="F",
    birth_date=date(1990, 5, 17),
    nationality="IDN",
)


@dataclass
class FakeGate:
    """Signs messages the way a gate does: its own key, its own topics, a rising seq."""

    gate_id: str
    key: KeyPair = field(default_factory=generate_keypair)
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def event(self, payload, *, seq: int | None = None, now_ms: int = NOW_MS, message_id: str | None = None) -> tuple[str, bytes]:
        return gate_events(self.gate_id), seal(
            payload, sender=self.gate_id, key=self.key, seq=next(self.seq) if seq is None else seq,
            now_ms=now_ms, message_id=message_id,
        )

    def state(self, payload: GateState, *, now_ms: int = NOW_MS) -> tuple[str, bytes]:
        return gate_state(self.gate_id), seal(payload, sender=self.gate_id, key=self.key, seq=0, now_ms=now_ms)

    def health(self, payload: Heartbeat, *, now_ms: int = NOW_MS) -> tuple[str, bytes]:
        return gate_health(self.gate_id), seal(payload, sender=self.gate_id, key=self.key, seq=0, now_ms=now_ms)
