"""Fuzzing the wire decoders: whatever bytes arrive on a topic, ``open_envelope`` answers with a
``ProtocolError`` (the ingest worker's and the gate's "reject and go on") and nothing else.

Three generators: raw bytes; JSON documents of any shape; and valid envelopes, correctly signed,
whose payload is mutated (so the decoder reaches the payload models). A stray exception type
here is a message that would kill or stall ingest or a gate's command intake.
"""

from __future__ import annotations

import base64
import json

import pytest
from fuzz_support import fuzz
from hypothesis import example, given
from hypothesis import strategies as st

from protocol.envelope import MAX_MESSAGE_BYTES, canonical_bytes, open_envelope, seal
from protocol.errors import ProtocolError
from protocol.keys import generate_keypair
from protocol.messages import GateEvent

GATE = "gate-fuzz"
KEY = generate_keypair()
KEYS = {GATE: KEY.public}
NOW = 1_790_000_000_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


def _open(data: bytes) -> None:
    try:
        open_envelope(data, keys=KEYS, now_ms=NOW, expected_sender=GATE)
    except ProtocolError:
        pass


@fuzz(100)
@given(st.binary(max_size=2048))
@example(b"")
@example(b"\xed\xa0\x80")
@example(b'{"sender": "gate-fuzz"}')
@example(b"[" * 500 + b"]" * 500)
def test_any_bytes_are_a_protocol_error_or_a_message(data: bytes) -> None:
    _open(data)


@fuzz(100)
@given(json_values)
def test_any_json_document_is_a_protocol_error_or_a_message(document) -> None:  # type: ignore[no-untyped-def]
    _open(json.dumps(document).encode())


def _signed(document: dict) -> bytes:
    document = dict(document)
    document.pop("signature", None)
    document["signature"] = base64.b64encode(KEY.sign(canonical_bytes(document))).decode("ascii")
    return json.dumps(document).encode()


envelope_fields = st.fixed_dictionaries({
    "v": st.sampled_from([1, 1, 2, "1", None]),
    "sender": st.just(GATE),
    "message_id": st.sampled_from(["a" * 32, "", "g" * 32, "A" * 32]) | st.text(max_size=40),
    "seq": st.integers(min_value=-(2**70), max_value=2**70) | st.none() | st.text(max_size=5),
    "sent_at_ms": st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=True) | st.none(),
    "payload": json_values | st.fixed_dictionaries({"kind": st.sampled_from(
        ["gate_event", "crossing", "state", "heartbeat", "command", "command_ack", "face_evidence", "x"])},
        optional={"event": st.text(max_size=70), "details": json_values, "transaction_id": json_values,
                  "traveler": json_values, "image": st.text(max_size=60)}),
})


@fuzz(100)
@given(envelope_fields)
def test_signed_envelopes_with_any_payload_are_a_protocol_error_or_a_message(document) -> None:  # type: ignore[no-untyped-def]
    """Signed by the right key: the decoder gets past the signature and meets the payload models."""
    try:
        data = _signed(document)
    except (TypeError, ValueError):  # a value canonical JSON itself refuses (e.g. NaN)
        return
    _open(data)


@fuzz(100)
@given(st.integers(min_value=0, max_value=60), st.binary(min_size=1, max_size=4))
def test_a_flipped_byte_in_a_sealed_message_is_refused_or_unchanged(position: int, junk: bytes) -> None:
    data = seal(GateEvent(event="door_closed", details={"n": 1}), sender=GATE, key=KEY, seq=1, now_ms=NOW)
    at = position * len(data) // 61
    mutated = data[:at] + junk + data[at + len(junk):]
    try:
        envelope = open_envelope(mutated, keys=KEYS, now_ms=NOW, expected_sender=GATE)
    except ProtocolError:
        return
    # accepted only if the signed content is what was signed (e.g. only whitespace changed)
    assert envelope.payload == GateEvent(event="door_closed", details={"n": 1})


def test_deeply_nested_json_is_a_malformed_message() -> None:
    """Issue 18 item 1 (fixed by ingestsafe): was a RecursionError, which stalled ingest."""
    with pytest.raises(ProtocolError):
        open_envelope(b"[" * 30_000 + b"]" * 30_000, keys=KEYS, now_ms=NOW)


def test_the_size_cap_comes_before_parsing() -> None:
    with pytest.raises(ProtocolError):
        open_envelope(b"{" * (MAX_MESSAGE_BYTES + 1), keys=KEYS, now_ms=NOW)
