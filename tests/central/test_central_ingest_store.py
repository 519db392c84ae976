"""Ingest without a broker: the worker verifies, stores exactly once and acks only what it committed.

Runs on SQLite and PostgreSQL (``database_url``). Deliveries go straight to the worker, so each
rule is tested alone; the broker path has its own end-to-end tests.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC

import pytest
from central_support import (
    NOW_MS,
    NOW_S,
    FakeGate,
    crossing,
    gate_event,
    register,
    unique_gate_id,
)
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from central.ingest.metrics import IngestMetrics
from central.ingest.worker import Delivery, IngestWorker
from central.models import (
    Alert,
    CommandRecord,
    Crossing,
    Gate,
    GateMessage,
    SequenceGap,
)
from protocol import CommandAck, GateState, Heartbeat, generate_keypair, seal
from protocol.topics import gate_commands, gate_events


class Harness:
    def __init__(self, database, **kwargs) -> None:
        self.database = database
        self.acked: list[Delivery] = []
        self.metrics = IngestMetrics()
        self.worker = IngestWorker(
            database, ack=self.acked.append, metrics=self.metrics, clock=lambda: NOW_S,
            retry_initial_s=0.01, retry_max_s=0.05, **kwargs,
        )

    def feed(self, topic_and_payload: tuple[str, bytes]) -> Delivery:
        delivery = Delivery(*topic_and_payload)
        assert self.worker.process(delivery)
        return delivery

    def count(self, model, *where) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def rows(self, model, *where) -> list:
        with self.database.session() as session:
            return list(session.scalars(select(model).where(*where)))


@pytest.fixture
def gate(any_database) -> FakeGate:
    g = FakeGate(unique_gate_id())
    register(any_database, g)
    return g


@pytest.fixture
def harness(any_database) -> Harness:
    return Harness(any_database)


# Tables of protocol and alert rules do not depend on the database engine: SQLite only, to keep
# the suite fast; the engine-sensitive paths (ledger, gaps, outage, state) run on both.
@pytest.fixture
def lite_gate(database) -> FakeGate:
    g = FakeGate(unique_gate_id())
    register(database, g)
    return g


@pytest.fixture
def lite_harness(database) -> Harness:
    return Harness(database)


def test_crossing_is_stored_with_the_nine_fields(harness: Harness, gate: FakeGate) -> None:
    harness.feed(gate.event(crossing()))
    [row] = harness.rows(Crossing)
    assert (row.document_number, row.surname, row.given_names, row.nationality, row.sex) == (
        "X1234567", "RAHAYU", "SITI", "IDN", "F",
    )
    assert row.gate_id == gate.gate_id and row.direction == "departure"
    assert row.timings_ms == {"document_scan": 800, "total": 9000}
    assert len(harness.acked) == 1 and harness.metrics["stored"] == 1


def test_duplicate_delivery_is_stored_once_and_acked_each_time(harness: Harness, gate: FakeGate) -> None:
    """At-least-once delivery (or a replay of the same bytes) must not make a second crossing."""
    message = gate.event(crossing())
    for _ in range(3):
        harness.feed(message)
    assert harness.count(Crossing) == 1
    assert harness.count(GateMessage) == 1
    assert len(harness.acked) == 3
    assert harness.metrics["duplicate"] == 2


def _tamper(data: bytes) -> bytes:
    document = json.loads(data)
    document["payload"]["traveler"]["surname"] = "SOMEONE ELSE"
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda g: (gate_events(g.gate_id), b"\x00\xffnot json"), "malformed", id="garbage"),
        pytest.param(lambda g: (gate_events(g.gate_id), b"[1,2,3]"), "malformed", id="not-an-object"),
        pytest.param(lambda g: (g.event(crossing())[0], _tamper(g.event(crossing())[1])), "bad_signature", id="tampered"),
        pytest.param(
            lambda g: (gate_events(g.gate_id), seal(crossing(), sender=g.gate_id, key=generate_keypair(), seq=1, now_ms=NOW_MS)),
            "bad_signature",
            id="forged-with-another-key",
        ),
        pytest.param(
            lambda g: (gate_events(g.gate_id), seal(crossing(), sender="gt-unknown", key=generate_keypair(), seq=1, now_ms=NOW_MS)),
            "bad_signature",
            id="sender-does-not-match-topic",
        ),
        pytest.param(
            lambda g: (gate_events("gt-unknown"), seal(crossing(), sender="gt-unknown", key=generate_keypair(), seq=1, now_ms=NOW_MS)),
            "unknown_sender",
            id="unknown-gate",
        ),
        pytest.param(lambda g: g.event(crossing(), now_ms=NOW_MS - 60 * 24 * 3600 * 1000), "expired", id="replayed-too-old"),
        pytest.param(lambda g: g.event(crossing(), now_ms=NOW_MS + 3600 * 1000), "expired", id="from-the-future"),
        pytest.param(lambda g: (gate_events(g.gate_id).replace("/events", "/nonsense"), b"{}"), "bad_topic", id="bad-topic"),
        pytest.param(lambda g: (gate_commands(g.gate_id), b"{}"), "bad_topic", id="commands-topic"),
        pytest.param(
            lambda g: (gate_events(g.gate_id), g.state(_state("idle", NOW_MS))[1]),
            "malformed",
            id="state-on-events-channel",
        ),
    ],
)
def test_bad_messages_are_counted_acked_and_stored_nowhere(lite_harness: Harness, lite_gate: FakeGate, make, reason: str) -> None:
    """A message that can never become valid is acked (or the broker redelivers it for ever),
    counted by reason, and the worker goes on to store the next good message."""
    harness, gate = lite_harness, lite_gate
    harness.feed(make(gate))
    assert harness.metrics[f"rejected_{reason}"] == 1
    assert harness.count(GateMessage) == 0 and harness.count(Crossing) == 0
    harness.feed(gate.event(crossing("tx-after")))
    assert harness.count(Crossing) == 1
    assert len(harness.acked) == 2


def test_forgeries_on_a_known_gate_raise_one_security_alert(harness: Harness, gate: FakeGate) -> None:
    forged = (gate_events(gate.gate_id), seal(crossing(), sender=gate.gate_id, key=generate_keypair(), seq=1, now_ms=NOW_MS))
    for _ in range(5):
        harness.feed(forged)
    [alert] = harness.rows(Alert, Alert.kind == "security")
    assert alert.gate_id == gate.gate_id and alert.severity == "critical"
    assert alert.details["count"] == 5


def test_sequence_gap_is_flagged_then_closed_by_late_arrivals(harness: Harness, gate: FakeGate) -> None:
    harness.feed(gate.event(gate_event(), seq=1))
    late_2 = gate.event(gate_event(), seq=2)
    late_3 = gate.event(gate_event(), seq=3)
    harness.feed(gate.event(gate_event(), seq=4))
    [gap] = harness.rows(SequenceGap)
    assert (gap.from_seq, gap.to_seq, gap.closed_at) == (2, 3, None)
    assert harness.count(Alert, Alert.kind == "sequence_gap") == 1
    harness.feed(late_3)
    assert harness.rows(SequenceGap)[0].closed_at is None  # 2 still missing
    assert harness.count(Alert, Alert.kind == "sequence_gap", Alert.acknowledged_at.is_(None)) == 1
    harness.feed(late_2)
    assert harness.rows(SequenceGap)[0].closed_at is not None
    # Nothing is missing any more: the alert is answered by the message that filled the gap.
    [alert] = harness.rows(Alert, Alert.kind == "sequence_gap")
    assert alert.acknowledged_at is not None and alert.answered_by_message_id is not None
    [row] = harness.rows(Gate)
    assert row.last_seq == 4
    assert harness.count(GateMessage) == 4


def test_in_order_messages_open_no_gap(harness: Harness, gate: FakeGate) -> None:
    for _ in range(5):
        harness.feed(gate.event(gate_event()))
    assert harness.count(SequenceGap) == 0
    assert harness.rows(Gate)[0].last_seq == 5


@pytest.mark.parametrize(
    ("event", "kind", "severity"),
    [
        (gate_event("alarm_raised", reason="cekal_identik", transaction_id="tx-9"), "watchlist_hold", "critical"),
        (gate_event("supervisor_notified", reason="fingerprint_mismatch", transaction_id="tx-8"), "biometric_mismatch", "high"),
        (gate_event("alarm_raised", reason="emergency"), "emergency", "critical"),
        (gate_event("alarm_raised", reason="emergency_held_released"), "emergency", "critical"),
        (gate_event("alarm_raised", reason="tailgating"), "tailgating", "high"),
        (gate_event("tailgating", reason="anomaly"), "tailgating", "high"),
        (gate_event("alarm_raised", reason="fault"), "fault", "high"),
        (gate_event("traveler_lingering", reason="walk_out_timeout"), "traveller_lingering", "warning"),
    ],
)
def test_events_raise_their_alerts(lite_harness: Harness, lite_gate: FakeGate, event, kind: str, severity: str) -> None:
    harness, gate = lite_harness, lite_gate
    harness.feed(gate.event(event))
    [alert] = harness.rows(Alert)
    assert (alert.kind, alert.severity, alert.gate_id, alert.acknowledged_at) == (kind, severity, gate.gate_id, None)


def test_a_routine_event_raises_no_alert(lite_harness: Harness, lite_gate: FakeGate) -> None:
    harness, gate = lite_harness, lite_gate
    harness.feed(gate.event(gate_event("document_read", state_to="checking")))
    assert harness.count(Alert) == 0


def _state(name: str, since_ms: int) -> GateState:
    return GateState(state=name, entry_door="closed", exit_door="closed", since_ms=since_ms, direction="departure")


def test_latest_state_wins_whatever_the_arrival_order(harness: Harness, gate: FakeGate) -> None:
    harness.feed(gate.state(_state("face", NOW_MS - 1000), now_ms=NOW_MS - 1000))
    harness.feed(gate.state(_state("idle", NOW_MS - 5000), now_ms=NOW_MS - 5000))  # older, late
    [row] = harness.rows(Gate)
    assert row.state["state"] == "face"
    assert harness.metrics["state_stale"] == 1
    assert harness.count(GateMessage) == 0  # state is not in the durable ledger


def test_last_will_marks_gate_offline_and_raises_an_alert(harness: Harness, gate: FakeGate) -> None:
    # The will is signed at connect time, before the heartbeats it follows.
    will = gate.health(Heartbeat(online=False), now_ms=NOW_MS - 60_000)
    harness.feed(gate.health(Heartbeat(online=True, uptime_s=10), now_ms=NOW_MS - 50_000))
    assert harness.rows(Gate)[0].online is True
    harness.feed(will)
    assert harness.rows(Gate)[0].online is False
    assert harness.count(Alert, Alert.kind == "gate_offline") == 1
    harness.feed(will)  # retained redelivery: no second alert
    assert harness.count(Alert, Alert.kind == "gate_offline") == 1
    harness.feed(gate.health(Heartbeat(online=True), now_ms=NOW_MS))
    assert harness.rows(Gate)[0].online is True


def test_command_ack_updates_the_command_record(harness: Harness, gate: FakeGate, any_database) -> None:
    from datetime import datetime

    with any_database.session() as session:
        session.add(
            CommandRecord(
                command_id="c" * 32, gate_id=gate.gate_id, action="grant_retry", reason="test",
                issued_by="sup", expires_at=datetime.now(UTC), status="sent",
            )
        )
        session.commit()
    harness.feed(gate.event(CommandAck(command_id="c" * 32, accepted=True, state_after="fingerprint")))
    [record] = harness.rows(CommandRecord)
    assert (record.status, record.state_after) == ("accepted", "fingerprint")


def test_database_outage_acks_nothing_and_stores_everything_later(any_database, gate: FakeGate) -> None:
    """While commits fail, the worker retries the same message and acks nothing; once the
    database is back, every message is stored and acked in order."""
    outage = threading.Event()
    outage.set()

    def sessions():
        session = any_database.session()

        @event.listens_for(session, "before_commit")
        def _fail(_session) -> None:
            if outage.is_set():
                raise OperationalError("COMMIT", {}, ConnectionRefusedError("database down (test)"))

        return session

    harness = Harness(any_database, sessions=sessions)
    harness.worker.start()
    try:
        first, second = gate.event(crossing("tx-a")), gate.event(crossing("tx-b"))
        harness.worker.submit(Delivery(*first))
        harness.worker.submit(Delivery(*second))
        assert harness.metrics.wait_until(lambda m: m["db_retries"] >= 3, timeout=20)
        assert harness.acked == []
        assert harness.count(Crossing) == 0
        outage.clear()
        assert harness.metrics.wait_until(lambda m: m["acked"] >= 2, timeout=20)
    finally:
        harness.worker.stop()
    assert [d.payload for d in harness.acked] == [first[1], second[1]]
    assert sorted(c.transaction_id for c in harness.rows(Crossing)) == ["tx-a", "tx-b"]


def test_stopping_during_an_outage_leaves_the_message_unacked(any_database, gate: FakeGate) -> None:
    def sessions():
        session = any_database.session()
        event.listen(session, "before_commit", lambda _s: (_ for _ in ()).throw(
            OperationalError("COMMIT", {}, ConnectionRefusedError("down"))))
        return session

    harness = Harness(any_database, sessions=sessions)
    harness.worker.start()
    harness.worker.submit(Delivery(*gate.event(crossing())))
    assert harness.metrics.wait_until(lambda m: m["db_retries"] >= 1, timeout=20)
    harness.worker.stop()
    assert harness.acked == []
    assert not harness.worker.is_running


def test_a_rotated_gate_key_is_picked_up_without_a_restart(lite_harness: Harness, lite_gate: FakeGate, database) -> None:
    lite_harness.feed(lite_gate.event(gate_event()))  # caches the old key
    lite_gate.key = generate_keypair()
    register(database, lite_gate)  # add-gate again with the new key
    lite_harness.feed(lite_gate.event(crossing("tx-new-key")))
    assert lite_harness.count(Crossing) == 1
    assert lite_harness.metrics["rejected"] == 0
