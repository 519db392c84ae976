"""Publishing to gates: signed, retained, chunked under the envelope limit, old versions cleared."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from wl_support import (
    CENTRAL_KEY,
    HEADER,
    NOW_MS,
    ROWS,
    SUPERVISOR,
    FakeBroker,
    entry_data,
    make_database,
)

from central.db import Database
from central.watchlists import csvimport, publisher, service
from central.watchlists.models import WatchlistVersion
from edge.watchlist.model import WatchlistEntry
from edge.watchlist.snapshot import WatchlistSnapshot
from protocol.envelope import MAX_MESSAGE_BYTES, open_envelope
from protocol.errors import ForgedMessage
from protocol.messages import WatchlistVersionNotice
from protocol.topics import WATCHLIST_NOTICE
from protocol.watchlist import open_watchlist, parse_watchlist_topic

KEYS = {"central": CENTRAL_KEY.public}


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = make_database(f"sqlite:///{tmp_path / 'central.db'}")
    yield database
    database.dispose()


def _big_snapshot(n: int) -> WatchlistSnapshot:
    return WatchlistSnapshot(version=9, entries=tuple(
        WatchlistEntry(entry_id=f"pencegahan-{i:06d}", list="pencegahan", document_numbers=(f"A{i:07d}",),
                       surname=f"SURNAME{i}", given_names="GIVEN NAMES HERE", birth_date="1980-01-01",
                       nationality="IDN", sex="M", agency="Direktorat Jenderal Pajak", reason="r" * 120)
        for i in range(n)
    ))


def test_chunks_fit_one_envelope_verify_and_rebuild_the_snapshot() -> None:
    """Without this, a large list would be refused by every gate (64 KiB limit) or arrive altered."""
    snapshot = _big_snapshot(1500)
    sha = hashlib.sha256(snapshot.canonical_json()).hexdigest()
    chunks = publisher.chunk_snapshot(snapshot, sha)
    assert len(chunks) > 3
    entries = []
    for chunk in chunks:
        data = publisher.seal_watchlist(chunk, sender="central", key=CENTRAL_KEY, seq=9, now_ms=NOW_MS)
        assert len(data) <= MAX_MESSAGE_BYTES
        opened = open_watchlist(data, keys=KEYS, now_ms=NOW_MS).payload
        assert (opened.count, opened.sha256, opened.total_entries) == (len(chunks), sha, 1500)
        entries.extend(WatchlistEntry.model_validate(e) for e in opened.entries)
    rebuilt = WatchlistSnapshot(version=9, entries=tuple(entries))
    assert hashlib.sha256(rebuilt.canonical_json()).hexdigest() == sha


def test_empty_list_is_one_empty_chunk() -> None:
    chunks = publisher.chunk_snapshot(WatchlistSnapshot(version=0), "0" * 64)
    assert [(c.index, c.count, c.entries) for c in chunks] == [(0, 1, ())]


def test_publish_sends_chunks_delta_then_notice_all_retained_and_clears_old_versions(db: Database) -> None:
    broker = FakeBroker()
    with db.session() as s:
        csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv")
        s.commit()
        first = publisher.publish_current(s, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS)
        s.commit()
        assert (first.version, first.chunks, first.delta_sent) == (1, 1, True)
        assert [t for t, _p, _r in broker.sent] == [
            "autogate/v1/watchlist/snapshot/1/0", "autogate/v1/watchlist/delta/1", WATCHLIST_NOTICE]
        assert all(r for _t, _p, r in broker.sent)
        notice = open_envelope(broker.retained[WATCHLIST_NOTICE], keys=KEYS, now_ms=NOW_MS).payload
        assert isinstance(notice, WatchlistVersionNotice)
        assert (notice.version, notice.entries, notice.base_version) == (1, 3, 0)
        assert notice.sha256 == s.get(WatchlistVersion, 1).sha256 == first.sha256
        delta = open_watchlist(broker.retained["autogate/v1/watchlist/delta/1"], keys=KEYS, now_ms=NOW_MS).payload
        assert (delta.base_version, delta.version, len(delta.added), delta.sha256) == (0, 1, 3, first.sha256)

        broker.sent.clear()
        service.add_entry(s, service.build_entry(entry_data()), SUPERVISOR)
        s.commit()
        second = publisher.publish_current(s, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS + 1000)
        s.commit()
        assert second.cleared_versions == (1,)
        # the broker now holds exactly version 2
        assert sorted(broker.retained) == [
            "autogate/v1/watchlist/delta/2", WATCHLIST_NOTICE, "autogate/v1/watchlist/snapshot/2/0"]
        assert ("autogate/v1/watchlist/snapshot/1/0", b"", True) in broker.sent
        row = s.get(WatchlistVersion, 2)
        assert row.chunk_count == 1 and row.published_at is not None
        # publishing again clears nothing new and republishes the same version
        third = publisher.publish_current(s, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS + 2000)
        assert third.version == 2 and third.cleared_versions == ()


def test_a_delta_too_big_for_one_message_is_left_to_the_snapshot(db: Database) -> None:
    rows = "".join(f"penangkalan,P{i:07d},DOE{i},JANE,1980,GBR,F,BNN,,,{'r' * 1500}\n" for i in range(60))
    broker = FakeBroker()
    with db.session() as s:
        csvimport.import_csv(s, HEADER + rows, SUPERVISOR, source="big.csv")
        s.commit()
        done = publisher.publish_current(s, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS)
    assert done.delta_sent is False and done.chunks >= 2
    kinds = [parse_watchlist_topic(t)[0] for t in broker.retained if t != WATCHLIST_NOTICE]
    assert kinds == ["snapshot"] * done.chunks
    notice = open_envelope(broker.retained[WATCHLIST_NOTICE], keys=KEYS, now_ms=NOW_MS).payload
    assert notice.base_version is None and notice.entries == 60


def test_published_messages_do_not_verify_under_another_key(db: Database) -> None:
    from protocol.keys import generate_keypair

    broker = FakeBroker()
    with db.session() as s:
        publisher.publish_current(s, key=generate_keypair(), publish=broker.publish, now_ms=NOW_MS)
    with pytest.raises(ForgedMessage):
        open_watchlist(broker.retained["autogate/v1/watchlist/snapshot/0/0"], keys=KEYS, now_ms=NOW_MS)


def test_a_broker_failure_propagates(db: Database) -> None:
    from central.errors import CommandNotSent

    def down(topic: str, payload: bytes, retain: bool) -> None:
        raise CommandNotSent("broker down (test)")

    with db.session() as s, pytest.raises(CommandNotSent):
        publisher.publish_current(s, key=CENTRAL_KEY, publish=down, now_ms=NOW_MS)
