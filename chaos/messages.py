"""What a hostile or broken network puts on a gate's topic: the same message twice, messages out
of order or late, poison bodies, and forgeries. Pure builders; the suite publishes them.

Every legitimate message is a crossing sealed with the gate's own key; every forgery carries a
transaction id starting with ``forged-`` so the suite can count any that central stored.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date

from protocol.envelope import seal
from protocol.keys import KeyPair, generate_keypair
from protocol.messages import CrossingRecord, Direction
from protocol.topics import gate_events
from simulators.travelers import make_traveler

POISON_RECURSION = b"[" * 30_000 + b"]" * 30_000  # issue 18 item 1: json.loads recursion
POISON_REPEAT = 25  # more than a broker's in-flight window (Mosquitto: 20), so a stall shows


def poison_bodies() -> list[bytes]:
    nested = b'{"a":' * 5_000 + b"1" + b"}" * 5_000
    return [
        *([POISON_RECURSION] * POISON_REPEAT),
        nested,
        b"",
        b"\x00\xff\xfe garbage",
        b"\xed\xa0\x80",  # a lone surrogate in UTF-8
        b"null",
        b"[]",
        b'{"v": 1}',
        b"{" * 70_000,  # over the 64 KiB cap
        json.dumps({"v": 1, "sender": "x", "message_id": "0" * 32, "seq": -1, "sent_at_ms": 0,
                    "payload": {"kind": "crossing"}, "signature": "AAAA"}).encode(),
    ]


@dataclass
class Published:
    topic: str
    body: bytes
    note: str


@dataclass
class Plan:
    """The sequence the suite publishes, and what it must find stored afterwards."""

    first: list[Published] = field(default_factory=list)
    delayed: list[Published] = field(default_factory=list)  # published after a pause, after the rest
    expected_transactions: set[str] = field(default_factory=set)
    forged_transactions: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def _crossing(gate_id: str, transaction_id: str, rng: random.Random, now_ms: int) -> CrossingRecord:
    traveler = make_traveler(rng, 0, today=date.today(), foreign=False, expired=False)
    return CrossingRecord(transaction_id=transaction_id, direction=Direction("departure"),
                          traveler=traveler.document(), started_at_ms=now_ms - 9000, completed_at_ms=now_ms)


def build_plan(gate_id: str, key: KeyPair, other_gate: str, other_key: KeyPair, *, count: int, seed: int,
               now_ms: int) -> Plan:
    """*count* crossings of *gate_id* (seq 1..count), shuffled, partly duplicated and delayed,
    interleaved with poison and forged messages."""
    rng = random.Random(seed)
    plan = Plan()
    topic = gate_events(gate_id)
    legit: list[Published] = []
    for seq in range(1, count + 1):
        txn = f"{gate_id}-syn-{seq}"
        body = seal(_crossing(gate_id, txn, rng, now_ms), sender=gate_id, key=key, seq=seq, now_ms=now_ms)
        legit.append(Published(topic, body, "legit"))
        plan.expected_transactions.add(txn)
    rng.shuffle(legit)  # reordered
    duplicates = [Published(p.topic, p.body, "duplicate") for p in rng.sample(legit, max(1, count // 10))]
    delayed_n = max(1, count // 10)
    plan.delayed = legit[:delayed_n] + [Published(p.topic, p.body, "replay") for p in rng.sample(legit, 3)]
    on_time = legit[delayed_n:]

    forged: list[Published] = []
    impostor = generate_keypair()

    def forge(note: str, *, sender: str, signer: KeyPair, to_topic: str, tamper: bool = False) -> None:
        txn = f"forged-{note}-{len(forged)}"
        body = seal(_crossing(sender, txn, rng, now_ms), sender=sender, key=signer, seq=count + 100 + len(forged),
                    now_ms=now_ms)
        if tamper:  # signed, then one byte of the payload changed
            body = body.replace(b'"completed_at_ms":', b'"completed_at_ms":1', 1)
        forged.append(Published(to_topic, body, note))
        plan.forged_transactions.add(txn)

    forge("bad-signature", sender=gate_id, signer=impostor, to_topic=topic)
    forge("tampered", sender=gate_id, signer=key, to_topic=topic, tamper=True)
    forge("wrong-gate-topic", sender=gate_id, signer=key, to_topic=gate_events(other_gate))
    forge("wrong-gate-key", sender=other_gate, signer=key, to_topic=gate_events(other_gate))
    forge("other-gate-as-us", sender=gate_id, signer=other_key, to_topic=topic)
    forge("unknown-gate", sender="chaos-unregistered", signer=impostor, to_topic=gate_events("chaos-unregistered"))

    poison = [Published(topic, body, "poison") for body in poison_bodies()]
    half = len(on_time) // 2
    plan.first = on_time[:half] + poison + forged + duplicates + on_time[half:]
    plan.counts = {"legit": count, "duplicates": len(duplicates), "delayed": delayed_n, "replays": 3,
                   "poison": len(poison), "forged": len(forged)}
    return plan
