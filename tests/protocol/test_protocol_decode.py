"""Untrusted bytes never escape the decoder as anything but MalformedMessage (issue 18, item 1).

Before the fix, ``open_envelope`` let RecursionError (deep nesting), ValueError (a number beyond
Python's digit limit) and UnicodeEncodeError (a lone surrogate escape) through, and every
receiver treated those as internal errors: central left the message unacknowledged.
"""

from __future__ import annotations

import pytest

from protocol import MalformedMessage, generate_keypair, open_envelope, seal
from protocol.decode import MAX_JSON_DEPTH, decode_json, json_depth_exceeds
from protocol.envelope import MAX_MESSAGE_BYTES
from protocol.messages import GateEvent

NOW = 1_790_000_000_000
GATE = generate_keypair()
KEYS = {"gate-01": GATE.public}
GOOD = seal(GateEvent(event="door_open", details={"reason": "test"}),
            sender="gate-01", key=GATE, seq=1, now_ms=NOW)

POISON = {
    "deep_list": b"[" * 30_000 + b"]" * 30_000,
    "deep_object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "deep_inside_envelope": b'{"sender":"gate-01","x":' + b"[" * 3000 + b"]" * 3000 + b"}",
    "deep_unbalanced": b"[" * 40_000,
    "invalid_utf8": b'{"sender":"\xff\xfe"}',
    "huge_body": b" " * (MAX_MESSAGE_BYTES + 1),
    "huge_integer": b'{"sender":"gate-01","seq":' + b"9" * 50_000 + b"}",
    "lone_surrogate": b'{"sender":"gate-01","signature":"AAAA","x":"\\ud800"}',
    "truncated": GOOD[:-10],
    "nul_bytes": b"\x00" * 100,
    "empty": b"",
    "top_level_array": b"[1,2,3]",
    "sender_wrong_type": b'{"sender":17}',
}


@pytest.mark.parametrize("body", POISON.values(), ids=POISON.keys())
def test_poison_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        open_envelope(body, keys=KEYS, now_ms=NOW)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = b'{"a":"' + b"[" * 1000 + b'","b":"\\"[[[["}'
    assert decode_json(text, max_bytes=MAX_MESSAGE_BYTES) == {"a": "[" * 1000, "b": '"[[[['}


def test_depth_limit_is_exact() -> None:
    assert not json_depth_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, MAX_JSON_DEPTH)
    assert json_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)


def test_real_messages_still_open() -> None:
    assert open_envelope(GOOD, keys=KEYS, now_ms=NOW).payload.details == {"reason": "test"}
