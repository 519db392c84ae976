"""The wire contract: what a receiver believes, and what it refuses."""

from __future__ import annotations

import json

import pytest

from protocol import (
    Command,
    CommandAction,
    CrossingRecord,
    ExpiredMessage,
    ForgedMessage,
    GateEvent,
    Heartbeat,
    MalformedMessage,
    ReplayedMessage,
    TravelerDocument,
    UnknownSender,
    generate_keypair,
    open_envelope,
    seal,
)
from protocol.envelope import MAX_MESSAGE_BYTES, CommandMemory, canonical_bytes
from protocol.messages import payload_adapter
from signing_gate import TRAVELER

NOW = 1_790_000_000_000
GATE = generate_keypair()
OTHER = generate_keypair()
KEYS = {"gate-01": GATE.public, "gate-02": OTHER.public}


def crossing() -> CrossingRecord:
    return CrossingRecord(
        transaction_id="tx-1",
        direction="departure",
        traveler=TRAVELER,
        started_at_ms=NOW - 9000,
        completed_at_ms=NOW,
        timings_ms={"document_scan": 800, "total": 9000},
    )


def test_round_trip_keeps_every_field() -> None:
    data = seal(crossing(), sender="gate-01", key=GATE, seq=7, now_ms=NOW)
    envelope = open_envelope(data, keys=KEYS, now_ms=NOW)
    assert envelope.seq == 7 and envelope.sender == "gate-01"
    assert envelope.payload == crossing()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["payload"]["traveler"].__setitem__("document_number", "X7654321"),
        lambda d: d.__setitem__("seq", d["seq"] + 1),
        lambda d: d.__setitem__("sent_at_ms", d["sent_at_ms"] - 1),
        lambda d: d.__setitem__("message_id", "0" * 32),
    ],
    ids=["payload", "seq", "timestamp", "message_id"],
)
def test_tampered_message_is_refused(mutate) -> None:
    document = json.loads(seal(crossing(), sender="gate-01", key=GATE, seq=1, now_ms=NOW))
    mutate(document)
    with pytest.raises(ForgedMessage):
        open_envelope(json.dumps(document).encode(), keys=KEYS, now_ms=NOW)


def test_message_signed_with_another_gates_key_is_forged() -> None:
    data = seal(crossing(), sender="gate-01", key=OTHER, seq=1, now_ms=NOW)
    with pytest.raises(ForgedMessage):
        open_envelope(data, keys=KEYS, now_ms=NOW)


def test_unsigned_message_is_forged() -> None:
    document = json.loads(seal(crossing(), sender="gate-01", key=GATE, seq=1, now_ms=NOW))
    del document["signature"]
    with pytest.raises(ForgedMessage):
        open_envelope(json.dumps(document).encode(), keys=KEYS, now_ms=NOW)


def test_sender_must_match_topic() -> None:
    data = seal(crossing(), sender="gate-02", key=OTHER, seq=1, now_ms=NOW)
    with pytest.raises(ForgedMessage):
        open_envelope(data, keys=KEYS, now_ms=NOW, expected_sender="gate-01")


def test_unknown_sender() -> None:
    data = seal(crossing(), sender="gate-99", key=GATE, seq=1, now_ms=NOW)
    with pytest.raises(UnknownSender):
        open_envelope(data, keys=KEYS, now_ms=NOW)


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1,2]", b'{"sender": 5}', b"\xff\xfe", b'{"sender":"gate-01"}'],
)
def test_garbage_is_malformed_or_forged_never_a_crash(raw: bytes) -> None:
    with pytest.raises((MalformedMessage, ForgedMessage)):
        open_envelope(raw, keys=KEYS, now_ms=NOW)


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedMessage):
        open_envelope(b"{" + b" " * MAX_MESSAGE_BYTES + b"}", keys=KEYS, now_ms=NOW)


def test_well_signed_but_invalid_payload_is_malformed() -> None:
    document = {
        "v": 1,
        "sender": "gate-01",
        "message_id": "a" * 32,
        "seq": 1,
        "sent_at_ms": NOW,
        "payload": {"kind": "gate_event", "event": "Bad Event!", "unexpected": 1},
    }
    import base64

    document["signature"] = base64.b64encode(GATE.sign(canonical_bytes(document))).decode()
    with pytest.raises(MalformedMessage):
        open_envelope(json.dumps(document).encode(), keys=KEYS, now_ms=NOW)


def test_time_window() -> None:
    future = seal(Heartbeat(online=True), sender="gate-01", key=GATE, seq=0, now_ms=NOW + 600_000)
    with pytest.raises(ExpiredMessage):
        open_envelope(future, keys=KEYS, now_ms=NOW)
    old = seal(Heartbeat(online=True), sender="gate-01", key=GATE, seq=0, now_ms=NOW - 60_000)
    with pytest.raises(ExpiredMessage):
        open_envelope(old, keys=KEYS, now_ms=NOW, max_age_ms=30_000)
    # Durable events arrive late by design: no max age, still accepted.
    assert open_envelope(old, keys=KEYS, now_ms=NOW).payload.online is True


def test_seal_refuses_to_publish_an_invalid_sender() -> None:
    with pytest.raises(ValueError):
        seal(Heartbeat(online=True), sender="gate/01", key=GATE, seq=0, now_ms=NOW)


def command(**overrides) -> Command:
    fields = dict(
        command_id="cmd-1",
        gate_id="gate-01",
        action=CommandAction.GRANT_RETRY,
        issued_by="supervisor1",
        reason="traveler pressed too lightly",
        expires_at_ms=NOW + 30_000,
    )
    fields.update(overrides)
    return Command(**fields)


def test_command_memory_refuses_replay_and_expired() -> None:
    memory = CommandMemory()
    memory.check_and_remember("cmd-1", NOW + 30_000, NOW)
    with pytest.raises(ReplayedMessage):
        memory.check_and_remember("cmd-1", NOW + 30_000, NOW + 1)
    with pytest.raises(ExpiredMessage):
        memory.check_and_remember("cmd-2", NOW - 1, NOW)


def test_command_memory_forgets_after_expiry_and_is_bounded() -> None:
    memory = CommandMemory(capacity=3)
    for i in range(10):
        memory.check_and_remember(f"c{i}", NOW + 10, NOW)
    assert len(memory._seen) == 3


def test_strict_models_forbid_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValueError):
        GateEvent(event="document_read", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        command(action="open_both_doors")
    with pytest.raises(ValueError):
        TravelerDocument(**{**TRAVELER.model_dump(), "sex": "Q"})


def test_discriminated_union_picks_the_kind() -> None:
    parsed = payload_adapter.validate_python({"kind": "heartbeat", "online": False})
    assert isinstance(parsed, Heartbeat)
    with pytest.raises(ValueError):
        payload_adapter.validate_python({"kind": "nonsense"})
