"""Ingest in batches: many messages, one transaction, each delivery acknowledged after it committed.

Runs on SQLite and PostgreSQL (``any_database``). Deliveries go straight to
``IngestWorker.process_batch``, so each rule of batching is tested alone; the broker path and
several worker processes have their own tests (test_central_ingest_workers.py).
"""

from __future__ import annotations

import threading

import pytest
from central_support import NOW_S, FakeGate, crossing, gate_event, register, unique_gate_id
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DataError

from central.ingest.metrics import IngestMetrics
from central.ingest.store import claim_message
from central.ingest.worker import Delivery, IngestWorker
from central.models import Alert, Crossing, GateMessage, SequenceGap, from_ms
from protocol import generate_keypair, seal
from protocol.topics import gate_events


class Recorder:
    """A worker whose acks record how many ledger rows were committed when each ack came."""

    def __init__(self, database, **kwargs) -> None:
        self.database = database
        self.metrics = IngestMetrics()
        self.acked: list[tuple[Delivery, int]] = []
        self.commits = 0
        self.worker = IngestWorker(database, ack=self._ack, metrics=self.metrics, clock=lambda: NOW_S,
                                   retry_initial_s=0.01, retry_max_s=0.05, **kwargs)
        event.listen(database.engine, "commit", self._on_commit)

    def _on_commit(self, _connection) -> None:
        self.commits += 1

    def _ack(self, delivery: Delivery) -> None:
        self.acked.append((delivery, self.count(GateMessage)))

    def count(self, model, *where) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def close(self) -> None:
        event.remove(self.database.engine, "commit", self._on_commit)


@pytest.fixture
def gates(any_database) -> list[FakeGate]:
    made = [FakeGate(unique_gate_id()) for _ in range(3)]
    for g in made:
        register(any_database, g)
    return made


@pytest.fixture
def recorder(any_database):
    r = Recorder(any_database)
    yield r
    r.close()


def test_a_batch_is_one_commit_and_every_delivery_is_acked_after_it_in_arrival_order(recorder, gates):
    deliveries = [Delivery(*g.event(crossing(f"tx-{i}-{g.gate_id}"))) for i in range(10) for g in gates]
    commits_before = recorder.commits
    assert recorder.worker.process_batch(deliveries)
    # The ledger rows are read back by a session of its own, which commits nothing it wrote.
    assert [d for d, _ in recorder.acked] == deliveries
    assert all(committed == 30 for _, committed in recorder.acked), "an ack came before its row committed"
    assert recorder.count(Crossing) == 30
    assert recorder.metrics["stored"] == 30 and recorder.metrics["batches"] == 1
    # The worker's own transactions: the batch, and no commit per message.
    worker_commits = recorder.commits - commits_before - len(deliveries)  # minus the ack read-backs
    assert worker_commits <= 2, worker_commits


def test_a_bad_message_in_a_batch_is_refused_alone_and_acknowledged_with_the_rest(recorder, gates):
    good = gates[0]
    impostor = FakeGate(gates[1].gate_id, key=generate_keypair())  # signs with the wrong key
    wrong_channel = Delivery(gate_events(gates[2].gate_id).replace("/events", "/state"), gates[2].event(crossing("tx-s"))[1])
    deliveries = [
        Delivery(*good.event(crossing("tx-1"))),
        Delivery(*impostor.event(crossing("tx-forged"))),
        wrong_channel,
        Delivery(*good.event(crossing("tx-2"))),
    ]
    assert recorder.worker.process_batch(deliveries)
    assert [d for d, _ in recorder.acked] == deliveries
    assert recorder.count(Crossing) == 2
    assert recorder.metrics["rejected_bad_signature"] == 1 and recorder.metrics["rejected_malformed"] == 1
    assert recorder.metrics["batch_splits"] == 0


def test_the_same_message_twice_in_one_batch_is_stored_once(recorder, gates):
    topic, payload = gates[0].event(crossing("tx-twice"))
    assert recorder.worker.process_batch([Delivery(topic, payload), Delivery(topic, payload)])
    assert recorder.count(Crossing) == 1 and recorder.count(GateMessage) == 1
    assert recorder.metrics["stored"] == 1 and recorder.metrics["duplicate"] == 1
    assert len(recorder.acked) == 2


def test_a_gates_events_out_of_order_within_a_batch_open_no_gap(recorder, gates):
    g = gates[0]
    first, second, third = (g.event(gate_event("document_read"), seq=s) for s in (1, 2, 3))
    assert recorder.worker.process_batch([Delivery(*third), Delivery(*first), Delivery(*second)])
    assert recorder.count(SequenceGap, SequenceGap.gate_id == g.gate_id) == 0
    assert recorder.count(Alert, Alert.gate_id == g.gate_id, Alert.kind == "sequence_gap") == 0


def test_a_failing_batch_is_stored_one_message_at_a_time_and_only_the_failing_one_is_dead_lettered(any_database, gates):
    recorder = Recorder(any_database)
    try:
        poisoned = "tx-poison"

        def fail_on_poison(_conn, _cursor, statement, parameters, _context, _many) -> None:
            if "INSERT INTO crossings" in statement and poisoned in str(parameters):
                raise DataError(statement, parameters, Exception("a value this message carries is out of range"))

        event.listen(any_database.engine, "before_cursor_execute", fail_on_poison)
        try:
            deliveries = [Delivery(*gates[0].event(crossing(t))) for t in ("tx-a", poisoned, "tx-b")]
            assert recorder.worker.process_batch(deliveries)
        finally:
            event.remove(any_database.engine, "before_cursor_execute", fail_on_poison)
        assert recorder.metrics["batch_splits"] == 1
        assert recorder.metrics["dead_letters"] == 1
        assert recorder.count(Crossing) == 2
        assert [d for d, _ in recorder.acked] == deliveries
    finally:
        recorder.close()


def test_claiming_a_message_another_transaction_holds_waits_and_answers_not_ours(any_database, gates):
    """Two workers racing on one message id: the second waits for the first's commit and then
    stores nothing, without an error (PostgreSQL; SQLite has one writer, so it cannot race)."""
    if any_database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: there is no concurrent transaction to race")
    row = dict(message_id="m" * 32, gate_id=gates[0].gate_id, seq=1, kind="crossing",
               sent_at=from_ms(int(NOW_S * 1000)), received_at=from_ms(int(NOW_S * 1000)), payload={})
    outcome: list[object] = []
    with any_database.session() as first:
        assert claim_message(first, **row)

        def second_worker() -> None:
            with any_database.session() as second:
                second.execute(text("SET application_name = 'autogate-claim-race'"))
                try:
                    outcome.append(claim_message(second, **row))
                    second.commit()
                except Exception as exc:  # noqa: BLE001 - the test reports whatever it was
                    outcome.append(exc)

        thread = threading.Thread(target=second_worker)
        thread.start()
        # Commit only once the second transaction is blocked on our uncommitted row.
        with any_database.engine.connect() as probe:
            while thread.is_alive():
                waiting = probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'autogate-claim-race'"
                    " AND wait_event_type = 'Lock'")).scalar()
                probe.rollback()
                if waiting:
                    break
                threading.Event().wait(0.01)
        first.commit()
        thread.join()
    assert outcome == [False]
    with any_database.session() as session:
        assert session.scalar(select(func.count()).select_from(GateMessage).where(GateMessage.gate_id == gates[0].gate_id)) == 1


def test_late_arrivals_in_a_batch_close_the_gap_they_complete_and_answer_its_alert(recorder, gates):
    """What two workers on a shared subscription do all the time: one stores 1 and 4, the other
    then 2 and 3 in one batch."""
    g = gates[0]
    one, two, three, four = (g.event(gate_event("document_read"), seq=s) for s in (1, 2, 3, 4))
    assert recorder.worker.process_batch([Delivery(*one), Delivery(*four)])
    with recorder.database.session() as session:
        [gap] = session.scalars(select(SequenceGap).where(SequenceGap.gate_id == g.gate_id)).all()
        assert (gap.from_seq, gap.to_seq, gap.closed_at) == (2, 3, None)
    assert recorder.worker.process_batch([Delivery(*three), Delivery(*two)])
    assert recorder.count(SequenceGap, SequenceGap.gate_id == g.gate_id, SequenceGap.closed_at.is_(None)) == 0
    assert recorder.count(Alert, Alert.gate_id == g.gate_id, Alert.kind == "sequence_gap",
                          Alert.acknowledged_at.is_(None)) == 0
    assert recorder.count(GateMessage, GateMessage.gate_id == g.gate_id) == 4


def test_an_unforeseen_error_on_one_message_of_a_batch_quarantines_it_alone(any_database, gates):
    """A bug on one message (a flush raising ValueError for its crossing) splits the batch: the
    others are stored, that one is kept as a dead letter (poison), and every delivery is acked."""
    from central.models import DeadLetter

    def sessions():
        session = any_database.session()

        @event.listens_for(session, "before_flush")
        def _bug(s, _ctx, _instances) -> None:
            if any(isinstance(obj, Crossing) and obj.transaction_id == "tx-bug" for obj in s.new):
                raise ValueError("a bug nobody foresaw (test)")

        return session

    acked: list[Delivery] = []
    worker = IngestWorker(any_database, ack=acked.append, clock=lambda: NOW_S, sessions=sessions)
    deliveries = [Delivery(*gates[0].event(crossing(t))) for t in ("tx-a", "tx-bug", "tx-b")]
    assert worker.process_batch(deliveries)
    assert acked == deliveries
    assert worker.metrics["batch_splits"] == 1 and worker.metrics["poison"] == 1 and worker.metrics["stored"] == 2
    with any_database.session() as session:
        assert [t for t in session.scalars(select(Crossing.transaction_id).order_by(Crossing.transaction_id))] == ["tx-a", "tx-b"]
        assert "tx-bug" in session.scalar(select(DeadLetter.payload))
