"""The durable outbox: seq, sealing, ordering, delivery marks, compaction, threads."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from edge.link.errors import OutboxClosed, OutboxOwnedByAnotherGate
from edge.link.outbox import Outbox
from protocol.envelope import open_envelope
from protocol.keys import KeyPair, generate_keypair
from protocol.messages import GateEvent


class FakeClock:
    def __init__(self, now_ms: int = 1_800_000_000_000) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture
def key() -> KeyPair:
    return generate_keypair()


def event(i: int) -> GateEvent:
    return GateEvent(event="test_event", details={"i": i})


def test_append_assigns_consecutive_seq_and_seals_verifiably(tmp_path: Path, key: KeyPair) -> None:
    """Without this, central could not verify or order what the gate sends."""
    clock = FakeClock()
    with Outbox(tmp_path / "o.db", sender="G1", key=key, clock_ms=clock) as box:
        rows = [box.append(event(i)) for i in range(3)]
    assert [r.seq for r in rows] == [1, 2, 3]
    assert len({r.message_id for r in rows}) == 3
    for i, row in enumerate(rows):
        env = open_envelope(row.envelope, keys={"G1": key.public}, now_ms=clock.now_ms, expected_sender="G1")
        assert env.seq == row.seq
        assert env.message_id == row.message_id
        assert env.payload == event(i)
        assert row.kind == "gate_event"


def test_seq_is_monotonic_across_reopen_and_compaction(tmp_path: Path, key: KeyPair) -> None:
    """A restarted gate must never reuse a seq, or central would drop a real event as a replay."""
    clock = FakeClock()
    path = tmp_path / "o.db"
    with Outbox(path, sender="G1", key=key, clock_ms=clock, retention_ms=0) as box:
        for i in range(5):
            box.append(event(i))
        for seq in range(1, 6):
            assert box.mark_delivered(seq)
        assert box.compact() == 5
        assert box.rows() == []
    with Outbox(path, sender="G1", key=key, clock_ms=clock) as box:
        assert box.last_seq == 5
        assert box.append(event(9)).seq == 6


def test_resend_after_reopen_is_byte_identical(tmp_path: Path, key: KeyPair) -> None:
    """The same bytes (id, seq, signature) after a restart let central drop the duplicate."""
    path = tmp_path / "o.db"
    with Outbox(path, sender="G1", key=key, clock_ms=FakeClock()) as box:
        written = [box.append(event(i)) for i in range(4)]
    with Outbox(path, sender="G1", key=key, clock_ms=FakeClock(1_900_000_000_000)) as box:
        again = box.pending(10)
    assert [r.envelope for r in again] == [r.envelope for r in written]
    assert [r.message_id for r in again] == [r.message_id for r in written]


def test_pending_is_in_seq_order_and_skips_delivered(tmp_path: Path, key: KeyPair) -> None:
    with Outbox(tmp_path / "o.db", sender="G1", key=key, clock_ms=FakeClock()) as box:
        for i in range(6):
            box.append(event(i))
        assert box.mark_delivered(2)
        assert box.mark_delivered(4)
        assert not box.mark_delivered(4), "a second PUBACK for the same row changes nothing"
        assert not box.mark_delivered(99)
        assert [r.seq for r in box.pending(10)] == [1, 3, 5, 6]
        assert [r.seq for r in box.pending(2)] == [1, 3]
        assert [r.seq for r in box.pending(10, after_seq=3)] == [5, 6]
        assert box.pending(0) == []
        assert box.depth == 4


def test_database_is_wal_with_full_sync(tmp_path: Path, key: KeyPair) -> None:
    """WAL + synchronous=FULL is what makes a committed append survive a kill or power loss."""
    path = tmp_path / "o.db"
    with Outbox(path, sender="G1", key=key) as box:
        assert box.journal_mode == "wal"
        box.append(event(0))
        # A second reader sees the committed row while the outbox is still open.
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            other.close()


def test_compaction_keeps_undelivered_and_recent_rows(tmp_path: Path, key: KeyPair) -> None:
    """Compaction must never delete a row that has not been acknowledged."""
    clock = FakeClock()
    hour = 3600 * 1000
    with Outbox(tmp_path / "o.db", sender="G1", key=key, clock_ms=clock, retention_ms=24 * hour) as box:
        for i in range(4):
            box.append(event(i))
        box.mark_delivered(1)
        clock.now_ms += 23 * hour
        box.mark_delivered(2)
        clock.now_ms += 2 * hour
        assert box.compact() == 1  # only row 1 is past retention
        assert [r.seq for r in box.rows()] == [2, 3, 4]
        clock.now_ms += 1000 * hour
        assert box.compact() == 1
        assert [r.seq for r in box.rows()] == [3, 4]
        assert box.depth == 2


def test_outbox_of_another_gate_is_refused(tmp_path: Path, key: KeyPair) -> None:
    """Sending another gate's rows under our name would forge its events."""
    path = tmp_path / "o.db"
    Outbox(path, sender="G1", key=key).close()
    with pytest.raises(OutboxOwnedByAnotherGate, match="belongs to gate 'G1', not 'G2'"):
        Outbox(path, sender="G2", key=key)


def test_in_memory_database_is_refused(key: KeyPair) -> None:
    with pytest.raises(ValueError, match="not durable"):
        Outbox(":memory:", sender="G1", key=key)


def test_closed_outbox_raises_and_close_is_idempotent(tmp_path: Path, key: KeyPair) -> None:
    box = Outbox(tmp_path / "o.db", sender="G1", key=key)
    box.close()
    box.close()
    with pytest.raises(OutboxClosed):
        box.append(event(0))
    with pytest.raises(RuntimeError):
        box.pending()


def test_concurrent_appends_get_unique_gapless_seqs(tmp_path: Path, key: KeyPair) -> None:
    """The runtime, the command thread and paho's thread append at once; no seq may be lost or doubled."""
    box = Outbox(tmp_path / "o.db", sender="G1", key=key)
    threads_n, per_thread = 4, 25
    results: list[list[int]] = [[] for _ in range(threads_n)]
    start = threading.Barrier(threads_n)

    def worker(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            results[n].append(box.append(event(n * 1000 + i)).seq)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    all_seqs = sorted(s for r in results for s in r)
    assert all_seqs == list(range(1, threads_n * per_thread + 1))
    for r in results:
        assert r == sorted(r), "each thread sees its own appends in increasing seq"
    # Order on disk matches seq order, and each row's signed seq matches its column.
    rows = box.pending(1000)
    assert [r.seq for r in rows] == all_seqs
    assert all(json.loads(r.envelope)["seq"] == r.seq for r in rows)
    box.close()


def test_batch_marking_counts_only_rows_it_changed(tmp_path: Path, key: KeyPair) -> None:
    with Outbox(tmp_path / "o.db", sender="G1", key=key, clock_ms=FakeClock()) as box:
        for i in range(5):
            box.append(event(i))
        assert box.mark_delivered_many([]) == 0
        assert box.mark_delivered_many([1, 2, 2, 42]) == 2
        assert box.mark_delivered_many([2, 3]) == 1
        assert [r.seq for r in box.pending(10)] == [4, 5]


def test_executed_commands_are_remembered_across_reopen_until_they_expire(tmp_path: Path, key: KeyPair) -> None:
    """A command captured off the broker must not open a door again after the gate restarts."""
    path = tmp_path / "o.db"
    now = 1_800_000_000_000
    with Outbox(path, sender="G1", key=key) as box:
        assert box.remember_command("c1", now + 30_000, now) is True
        assert box.remember_command("c1", now + 30_000, now + 1) is False
    with Outbox(path, sender="G1", key=key) as box:
        assert box.remember_command("c1", now + 30_000, now + 2) is False, "still known after a restart"
        assert box.remember_command("c2", now + 10, now + 3) is True
        # Past their expiry the ids are forgotten (the expiry check refuses such commands anyway).
        assert box.remember_command("c2", now + 10_000_000, now + 60_000) is True
        assert box.remember_command("c1", now + 10_000_000, now + 60_000) is True


def test_a_large_resend_range_is_requeued_whole_in_windows(tmp_path: Path, key: KeyPair) -> None:
    """Central may ask for thousands of events (a gap after a long outage); the gate requeues
    them window by window (short transactions) and reports what it no longer holds."""
    clock = FakeClock()
    with Outbox(tmp_path / "o.db", sender="G1", key=key, clock_ms=clock, requeue_window_rows=300) as box:
        for i in range(5000):
            box.append(event(i))
        assert box.mark_delivered_many(list(range(1, 5001))) == 5000
        # Rows 1..1000 were delivered long ago and compacted away.
        with sqlite3.connect(box.path) as other:
            other.execute("UPDATE outbox SET delivered_at_ms = 0 WHERE seq <= 1000")
        assert box.compact() == 1000
        assert box.requeue(1, 5000) == (4000, 1000)
        pending = box.pending(10_000)
        assert [row.seq for row in pending] == list(range(1001, 5001))
        assert box.requeue(4001, 4001) == (0, 0)  # already pending: nothing to do, nothing missing
    with pytest.raises(ValueError):
        Outbox(tmp_path / "p.db", sender="G1", key=key, requeue_window_rows=0)
