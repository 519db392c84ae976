"""The gate side: verify, assemble or apply, install atomically, report; forgeries change nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date

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
from edge.link.base import MemoryLink
from edge.link.watchlist_sync import SUBSCRIPTIONS, WatchlistSync, link_reporter
from edge.watchlist.local import LocalWatchlist
from edge.watchlist.model import ScreeningQuery
from edge.watchlist.snapshot import WatchlistSnapshot
from protocol.envelope import seal
from protocol.keys import generate_keypair
from protocol.messages import WatchlistAck, WatchlistVersionNotice
from protocol.topics import WATCHLIST_NOTICE
from protocol.watchlist import (
    WatchlistDeltaMessage,
    WatchlistSnapshotChunk,
    delta_topic,
    seal_watchlist,
    snapshot_chunk_topic,
)

TODAY = date(2026, 6, 1)
SANTOSO = ScreeningQuery(document_number="A1234567", surname="SANTOSO", given_names="BUDI", birth_date="1985-01-01",
                         nationality="IDN", sex="M")
RAHAYU = ScreeningQuery(document_number="X1234567", surname="RAHAYU", given_names="SITI", birth_date="1990-05-17",
                        nationality="IDN", sex="F")


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = make_database(f"sqlite:///{tmp_path / 'central.db'}")
    yield database
    database.dispose()


class Gate:
    """A gate's local copy, its sync and its link, as a test sees them."""

    def __init__(self, tmp_path, key=CENTRAL_KEY.public) -> None:
        self.path = tmp_path / "gate" / "watchlist.json"
        self.local = LocalWatchlist(WatchlistSnapshot(version=0), path=self.path)
        self.link = MemoryLink()
        self.sync = WatchlistSync(self.local, key, clock_ms=lambda: NOW_MS, on_installed=link_reporter(self.link))

    def feed(self, messages) -> None:
        for topic, payload in messages:
            self.sync.handle(topic, payload)

    def acks(self) -> list[int]:
        return [e.version for e in self.link.events if isinstance(e, WatchlistAck)]


def _publish(db: Database, broker: FakeBroker, now_ms: int = NOW_MS) -> publisher.Publication:
    with db.session() as s:
        done = publisher.publish_current(s, key=CENTRAL_KEY, publish=broker.publish, now_ms=now_ms)
        s.commit()
    return done


def _change(db: Database, fn) -> None:
    with db.session() as s:
        fn(s)
        s.commit()


def test_first_sync_assembles_the_snapshot_persists_it_and_acks(db: Database, tmp_path) -> None:
    """Without this, a new gate would screen against nothing."""
    _change(db, lambda s: csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv"))
    broker = FakeBroker()
    done = _publish(db, broker)
    gate = Gate(tmp_path)
    assert gate.local.screen(SANTOSO, today=TODAY).level == "none"
    # a reconnecting gate gets the retained messages: snapshot chunks, delta (base 0) and notice
    gate.feed(sorted(broker.retained.items()))
    assert gate.sync.version == 1 and gate.sync.sha256 == done.sha256 and gate.sync.is_current
    assert gate.local.screen(SANTOSO, today=TODAY).level == "identical"
    assert LocalWatchlist.load(gate.path).snapshot == gate.local.snapshot  # persisted
    assert gate.acks()[-1] == 1 and gate.link.events[-1].sha256 == done.sha256


def test_a_delta_on_the_local_version_is_applied(db: Database, tmp_path) -> None:
    _change(db, lambda s: csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv"))
    broker = FakeBroker()
    _publish(db, broker)
    gate = Gate(tmp_path)
    gate.feed(broker.take())
    _change(db, lambda s: service.add_entry(s, service.build_entry(entry_data()), SUPERVISOR))
    _publish(db, broker)
    delta_only = [(t, p) for t, p in broker.take() if t == delta_topic(2) or t == WATCHLIST_NOTICE]
    gate.feed(delta_only)
    assert gate.sync.version == 2 and gate.sync.counts["installed:delta"] >= 1
    assert gate.local.screen(RAHAYU, today=TODAY).level == "identical"
    assert gate.acks()[-1] == 2


def test_forged_or_garbage_messages_leave_the_old_list_in_force(db: Database, tmp_path) -> None:
    """Without this, anyone on the broker could empty a gate's watchlist."""
    _change(db, lambda s: csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv"))
    broker = FakeBroker()
    _publish(db, broker)
    gate = Gate(tmp_path)
    gate.feed(broker.take())
    before = gate.local.snapshot
    attacker = generate_keypair()
    empty = WatchlistSnapshot(version=5)
    sha = hashlib.sha256(empty.canonical_json()).hexdigest()
    forged_chunk = WatchlistSnapshotChunk(version=5, index=0, count=1, total_entries=0, sha256=sha)
    forged_delta = WatchlistDeltaMessage(base_version=1, version=2, total_entries=0, sha256=sha,
                                         removed=tuple(e.entry_id for e in before.entries))
    real = broker.retained[delta_topic(1)]
    tampered = json.loads(real)
    tampered["payload"]["added"] = []
    messages = [
        (snapshot_chunk_topic(5, 0), seal_watchlist(forged_chunk, sender="central", key=attacker, seq=5, now_ms=NOW_MS)),
        (delta_topic(2), seal_watchlist(forged_delta, sender="central", key=attacker, seq=2, now_ms=NOW_MS)),
        (delta_topic(2), json.dumps(tampered).encode()),
        (snapshot_chunk_topic(6, 0), b"\x00garbage"),
        (WATCHLIST_NOTICE, seal(WatchlistVersionNotice(version=9, entries=0, sha256=sha, published_at_ms=NOW_MS),
                                sender="central", key=attacker, seq=9, now_ms=NOW_MS)),
    ]
    for topic, payload in messages:
        assert gate.sync.handle(topic, payload) is False
    assert gate.local.snapshot == before and gate.sync.version == 1
    assert gate.sync.counts["rejected:bad_signature"] == 4 and gate.sync.counts["rejected:malformed"] == 1
    assert gate.sync.target_version == 1


def test_a_delta_with_the_wrong_result_hash_is_refused(db: Database, tmp_path) -> None:
    """Central signs it, but it does not produce central's list: e.g. the gate's copy drifted."""
    gate = Gate(tmp_path)
    entry = service.build_entry(entry_data())
    delta = WatchlistDeltaMessage(base_version=0, version=1, total_entries=1, sha256="0" * 64,
                                  added=(entry.model_dump(mode="json"),))
    ok = gate.sync.handle(delta_topic(1), seal_watchlist(delta, sender="central", key=CENTRAL_KEY, seq=1, now_ms=NOW_MS))
    assert ok is False and gate.sync.version == 0 and gate.sync.counts["rejected:malformed"] == 1


def test_out_of_order_deltas_wait_and_then_apply_in_order(db: Database, tmp_path) -> None:
    broker = FakeBroker()
    _change(db, lambda s: csvimport.import_csv(s, HEADER + ROWS[0], SUPERVISOR, source="a.csv"))
    _publish(db, broker)
    gate = Gate(tmp_path)
    gate.feed(broker.take())
    _change(db, lambda s: csvimport.import_csv(s, HEADER + ROWS[1], SUPERVISOR, source="b.csv"))
    _publish(db, broker)
    delta2 = dict(broker.take())[delta_topic(2)]
    _change(db, lambda s: csvimport.import_csv(s, HEADER + ROWS[2], SUPERVISOR, source="c.csv"))
    _publish(db, broker)
    delta3 = dict(broker.take())[delta_topic(3)]
    assert gate.sync.handle(delta_topic(3), delta3) is False  # base 2 is not here yet: waits
    assert gate.sync.version == 1 and gate.sync.counts["deltas_waiting"] == 1
    assert gate.sync.handle(delta_topic(2), delta2) is True
    assert gate.sync.version == 3 and len(gate.local.snapshot.entries) == 3
    assert gate.acks() == [1, 2, 3]


def test_a_gate_too_far_behind_waits_for_the_snapshot(db: Database, tmp_path) -> None:
    broker = FakeBroker()
    _change(db, lambda s: csvimport.import_csv(s, HEADER + ROWS[0], SUPERVISOR, source="a.csv"))
    _publish(db, broker)
    gate = Gate(tmp_path)
    gate.feed(broker.take())
    _change(db, lambda s: csvimport.import_csv(s, HEADER + ROWS[1], SUPERVISOR, source="b.csv"))
    _change(db, lambda s: csvimport.import_csv(s, HEADER + ROWS[2], SUPERVISOR, source="c.csv"))
    done = _publish(db, broker)
    messages = dict(broker.take())
    gate.sync.handle(WATCHLIST_NOTICE, messages[WATCHLIST_NOTICE])
    assert gate.sync.handle(delta_topic(3), messages[delta_topic(3)]) is False  # base 2, gate at 1
    assert gate.sync.version == 1 and not gate.sync.is_current
    assert gate.sync.handle(snapshot_chunk_topic(3, 0), messages[snapshot_chunk_topic(3, 0)]) is True
    assert gate.sync.version == 3 and gate.sync.sha256 == done.sha256 and gate.sync.is_current


def test_chunks_in_any_order_and_mixed_builds_refused(tmp_path) -> None:
    snapshot = WatchlistSnapshot(version=4, entries=tuple(
        service.build_entry(entry_data(document_numbers=[f"D{i:07d}"], surname=f"NAME{i}", reason="r" * 900))
        for i in range(40)))
    sha = hashlib.sha256(snapshot.canonical_json()).hexdigest()
    chunks = publisher.chunk_snapshot(snapshot, sha, budget_bytes=8000)
    assert len(chunks) >= 3
    sealed = [(snapshot_chunk_topic(4, c.index), seal_watchlist(c, sender="central", key=CENTRAL_KEY, seq=4, now_ms=NOW_MS))
              for c in chunks]
    gate = Gate(tmp_path)
    other = WatchlistSnapshotChunk(version=4, index=1, count=len(chunks), total_entries=40, sha256="1" * 64)
    gate.sync.handle(*sealed[0])
    assert gate.sync.handle(snapshot_chunk_topic(4, 1),
                            seal_watchlist(other, sender="central", key=CENTRAL_KEY, seq=4, now_ms=NOW_MS)) is False
    on_wrong_topic = gate.sync.handle(snapshot_chunk_topic(4, 0), sealed[1][1])
    assert on_wrong_topic is False
    for topic, payload in reversed(sealed[1:]):
        gate.sync.handle(topic, payload)
    assert gate.sync.version == 4 and gate.local.snapshot == snapshot
    assert gate.sync.counts["rejected:malformed"] == 2


def test_old_notices_old_data_and_cleared_topics_change_nothing(db: Database, tmp_path) -> None:
    broker = FakeBroker()
    _change(db, lambda s: csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv"))
    _publish(db, broker)
    first = broker.take()
    gate = Gate(tmp_path)
    gate.feed(first)
    _change(db, lambda s: service.add_entry(s, service.build_entry(entry_data()), SUPERVISOR))
    _publish(db, broker)
    gate.feed(broker.take())
    assert gate.sync.version == 2
    gate.feed(first)  # replayed version-1 data and notice: no rollback
    gate.sync.handle(snapshot_chunk_topic(1, 0), b"")
    assert gate.sync.version == 2 and gate.sync.counts["stale_ignored"] >= 2


def test_no_central_key_refuses_everything_and_screening_goes_on(db: Database, tmp_path) -> None:
    broker = FakeBroker()
    _change(db, lambda s: csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv"))
    _publish(db, broker)
    gate = Gate(tmp_path, key=None)
    gate.feed(broker.take())
    assert gate.sync.version == 0 and gate.sync.counts["rejected:unknown_sender"] == 3
    assert gate.local.screen(SANTOSO, today=TODAY).level == "none"


def test_a_failed_write_keeps_the_old_list(db: Database, tmp_path) -> None:
    class ReadOnlyDisk(LocalWatchlist):
        def replace(self, snapshot: WatchlistSnapshot) -> None:
            raise OSError(28, "No space left on device")

    broker = FakeBroker()
    _change(db, lambda s: csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv"))
    _publish(db, broker)
    local = ReadOnlyDisk(WatchlistSnapshot(version=0))
    sync = WatchlistSync(local, CENTRAL_KEY.public, clock_ms=lambda: NOW_MS)
    for topic, payload in broker.take():
        sync.handle(topic, payload)
    assert sync.version == 0 and sync.counts["rejected:install_failed"] >= 1


def test_the_gate_subscribes_to_notice_delta_and_chunks() -> None:
    assert SUBSCRIPTIONS == (WATCHLIST_NOTICE, "autogate/v1/watchlist/delta/+", "autogate/v1/watchlist/snapshot/+/+")
