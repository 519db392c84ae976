"""Wire models, topics and envelopes of watchlist data (protocol/watchlist.py)."""

from __future__ import annotations

import json

import pytest

from protocol.envelope import MAX_MESSAGE_BYTES
from protocol.errors import (
    ExpiredMessage,
    ForgedMessage,
    MalformedMessage,
    UnknownSender,
)
from protocol.keys import generate_keypair
from protocol.watchlist import (
    WatchlistDeltaMessage,
    WatchlistSnapshotChunk,
    delta_topic,
    gate_acl_lines,
    open_watchlist,
    parse_watchlist_topic,
    seal_watchlist,
    snapshot_chunk_topic,
)

KEY = generate_keypair()
KEYS = {"central": KEY.public}
SHA = "ab" * 32


def _chunk(**kw) -> WatchlistSnapshotChunk:
    data = {"version": 3, "index": 0, "count": 1, "total_entries": 1, "sha256": SHA,
            "entries": ({"entry_id": "e1", "list": "pencegahan", "surname": "X"},)}
    data.update(kw)
    return WatchlistSnapshotChunk(**data)


def test_topics_round_trip_and_refuse_others() -> None:
    assert snapshot_chunk_topic(7, 2) == "autogate/v1/watchlist/snapshot/7/2"
    assert delta_topic(7) == "autogate/v1/watchlist/delta/7"
    assert parse_watchlist_topic(snapshot_chunk_topic(7, 2)) == ("snapshot", 7, 2)
    assert parse_watchlist_topic(delta_topic(12)) == ("delta", 12, None)
    for bad in ("autogate/v1/watchlist/notice", "autogate/v1/watchlist/delta/-1", "autogate/v1/watchlist/snapshot/1",
                "autogate/v2/watchlist/delta/1", "autogate/v1/watchlist/delta/1/2"):
        with pytest.raises(ValueError):
            parse_watchlist_topic(bad)
    with pytest.raises(ValueError):
        delta_topic(-1)
    assert "topic read autogate/v1/watchlist/snapshot/+/+" in gate_acl_lines()


def test_seal_and_open_round_trip() -> None:
    delta = WatchlistDeltaMessage(base_version=2, version=3, total_entries=4, sha256=SHA, removed=("e9",))
    for payload in (_chunk(), delta):
        envelope = open_watchlist(seal_watchlist(payload, sender="central", key=KEY, seq=3, now_ms=1000),
                                  keys=KEYS, now_ms=2000, expected_sender="central")
        assert envelope.payload == payload and envelope.sender == "central"


def test_tampered_forged_unknown_and_future_messages_are_refused() -> None:
    data = seal_watchlist(_chunk(), sender="central", key=KEY, seq=3, now_ms=1000)
    document = json.loads(data)
    document["payload"]["entries"][0]["surname"] = "Y"
    with pytest.raises(ForgedMessage):
        open_watchlist(json.dumps(document).encode(), keys=KEYS, now_ms=2000)
    forged = seal_watchlist(_chunk(), sender="central", key=generate_keypair(), seq=3, now_ms=1000)
    with pytest.raises(ForgedMessage):
        open_watchlist(forged, keys=KEYS, now_ms=2000)
    other = seal_watchlist(_chunk(), sender="gate-1", key=KEY, seq=3, now_ms=1000)
    with pytest.raises(ForgedMessage):
        open_watchlist(other, keys=KEYS, now_ms=2000, expected_sender="central")
    with pytest.raises(UnknownSender):
        open_watchlist(other, keys=KEYS, now_ms=2000)
    with pytest.raises(ExpiredMessage):
        open_watchlist(data, keys=KEYS, now_ms=1000 - 200_000)
    with pytest.raises(MalformedMessage):
        open_watchlist(b"\xff not json", keys=KEYS, now_ms=2000)


def test_an_oversized_payload_cannot_be_sealed() -> None:
    big = tuple({"entry_id": f"e{i}", "reason": "r" * 1000} for i in range(70))
    with pytest.raises(MalformedMessage):
        seal_watchlist(_chunk(entries=big, total_entries=70), sender="central", key=KEY, seq=0, now_ms=0)
    with pytest.raises(MalformedMessage):
        open_watchlist(b" " * (MAX_MESSAGE_BYTES + 1), keys=KEYS, now_ms=0)


def test_models_are_frozen_and_forbid_extra_fields() -> None:
    with pytest.raises(ValueError):
        WatchlistSnapshotChunk(version=1, index=0, count=1, total_entries=0, sha256=SHA, colour="red")
    with pytest.raises(ValueError):
        _chunk(sha256="xyz")
    with pytest.raises(ValueError):
        _chunk().version = 4  # type: ignore[misc]
