"""Poison messages never stop ingest (issue 18, item 1).

Before the fix, a body of 30,000 ``[`` made ``json.loads`` raise RecursionError inside the worker;
the message was left unacknowledged, and after 20 of them (Mosquitto's in-flight window) central
received nothing more, also after a restart. Here every kind of bad body goes to a registered
gate's events topic at QoS 1 on a real broker; each must be refused, counted and acknowledged,
and every good event after them stored. Waits are on the ingest counters, never sleeps.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid

import pytest
from central_support import NOW_MS, NOW_S, FakeGate, crossing, demo_settings, gate_event, register, unique_gate_id
from sqlalchemy import event, func, select

from central.app import create_app
from central.ingest.mqtt import IngestService
from central.ingest.worker import Delivery, IngestWorker
from central.models import Crossing, DeadLetter
from protocol.envelope import canonical_bytes
from test_central_ingest_mqtt import WAIT_S, FakeGateClient, _forget_session

DEEP = b"[" * 30_000 + b"]" * 30_000


def _signed_but_invalid(gate, payload: object) -> bytes:
    """Valid JSON with a valid signature whose payload fails the schema."""
    document = {"v": 1, "sender": gate.gate_id, "message_id": uuid.uuid4().hex, "seq": 1,
                "sent_at_ms": NOW_MS, "payload": payload}
    document["signature"] = base64.b64encode(gate.key.sign(canonical_bytes(document))).decode()
    return json.dumps(document).encode()


def poison_bodies(gate) -> list[bytes]:
    topic, good = gate.event(gate_event("document_read"))
    bodies = [DEEP] * 20  # enough on their own to fill Mosquitto's in-flight window before the fix
    bodies += [
        b'{"sender":"' + gate.gate_id.encode() + b'","x":' + b"{\"a\":" * 5000 + b"1" + b"}" * 5000 + b"}",
        b'{"sender":"\xff\xfe\xfd"}',  # invalid UTF-8
        b"x" * 200_000,  # huge body
        b'{"sender":"' + gate.gate_id.encode() + b'","seq":' + b"9" * 20_000 + b"}",  # beyond int digits
        b'{"sender":"' + gate.gate_id.encode() + b'","signature":"AAAA","x":"\\ud800"}',  # lone surrogate
        good[: len(good) // 2],  # truncated JSON
        b"[1, 2, 3]",  # wrong type at the top
        b'{"sender": 17}',  # wrong type of a field
        _signed_but_invalid(gate, {"kind": "gate_event", "event": 5}),  # signed, fails the schema
        _signed_but_invalid(gate, [[[[[]]]]]),
        b"",
    ]
    assert topic.endswith("/events")
    return bodies


@pytest.fixture
def gate(any_database) -> FakeGate:
    g = FakeGate(unique_gate_id())
    register(any_database, g)
    return g


@pytest.fixture
def central_settings(mqtt_broker, database_url):
    client_id = f"central-poison-{uuid.uuid4().hex[:8]}"
    settings = demo_settings(
        database_url,
        mqtt={"host": mqtt_broker.host, "port": mqtt_broker.port, "username": mqtt_broker.username,
              "password": mqtt_broker.password, "client_id": client_id},
        ingest_retry_initial_s=0.02,
        ingest_retry_max_s=0.1,
    )
    yield settings
    _forget_session(mqtt_broker, client_id)


def _start(settings, database) -> IngestService:
    service = IngestService(settings, database, clock=lambda: NOW_S)
    service.start()
    assert service.wait_until_subscribed(WAIT_S), "ingest never subscribed"
    return service


def _crossings(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Crossing)) or 0


def test_poison_bodies_are_refused_acked_and_good_events_after_them_stored(
    central_settings, any_database, gate, mqtt_broker
) -> None:
    """Without the fix the 20 deep bodies stay unacknowledged: on Mosquitto nothing after them
    arrives, and the counters show worker errors instead of refusals."""
    bodies = poison_bodies(gate)
    assert len(bodies) >= 25
    topic = gate.event(gate_event())[0]
    service = _start(central_settings, any_database)
    publisher = FakeGateClient(mqtt_broker)
    try:
        assert publisher.ready.wait(WAIT_S)
        for body in bodies:
            publisher.publish((topic, body))
        for i in range(5):
            publisher.publish(gate.event(crossing(f"tx-after-poison-{i}")))
        done = lambda m: m["stored"] >= 5 and m["rejected"] >= len(bodies)
        assert service.metrics.wait_until(done, WAIT_S), service.metrics.snapshot()
        app = create_app(central_settings, database=any_database, metrics=service.metrics,
                         ingest_health=service.health, clock=lambda: NOW_S)
        health = app.test_client().get("/healthz").get_json()
    finally:
        service.stop()
    counts = service.metrics.snapshot()
    assert counts["rejected_malformed"] == len(bodies)  # each refusal named, none an internal error
    assert counts.get("worker_errors", 0) == 0
    assert counts["acked"] == counts["received"]
    assert _crossings(any_database) == 5
    # An operator sees the refusals without reading logs.
    assert health["ingest"] == "ok" and health["ingest_counters"]["rejected_malformed"] == len(bodies)

    # A restart with the same session: the broker has nothing of ours left to redeliver.
    assert mqtt_broker.wait_until_gone(central_settings.mqtt.client_id)
    service = _start(central_settings, any_database)
    try:
        publisher.publish(gate.event(crossing("tx-after-restart")))
        assert service.metrics.wait_until(lambda m: m["stored"] >= 1, WAIT_S), service.metrics.snapshot()
    finally:
        service.stop()
        publisher.close()
    # Nothing of ours came back (other gates' traffic on a shared broker may: unknown senders here).
    counts = service.metrics.snapshot()
    assert counts.get("rejected_malformed", 0) == 0 and counts.get("poison", 0) == 0, counts
    assert counts["stored"] == 1 and counts.get("duplicate", 0) == 0, counts
    assert _crossings(any_database) == 6


def test_an_unforeseen_error_makes_a_dead_letter_and_the_message_is_acked(any_database, gate) -> None:
    """A bug while storing one message (here: a flush that raises ValueError) used to leave it
    unacknowledged for ever; now it is kept whole enough to replay, counted and acknowledged."""

    def sessions():
        session = any_database.session()

        @event.listens_for(session, "before_flush")
        def _bug(s, _ctx, _instances) -> None:
            if any(isinstance(obj, Crossing) for obj in s.new):
                raise ValueError("a bug nobody foresaw (test)")

        return session

    acked: list[Delivery] = []
    worker = IngestWorker(any_database, ack=acked.append, clock=lambda: NOW_S, sessions=sessions)
    topic, body = gate.event(crossing("tx-bug"))
    assert worker.process(Delivery(topic=topic, payload=body)) is True
    assert [d.topic for d in acked] == [topic]
    assert worker.metrics["poison"] == 1
    with any_database.session() as session:
        letter = session.scalar(select(DeadLetter))
        assert letter.topic == topic and "ValueError" in letter.error and "tx-bug" in letter.payload
    assert _crossings(any_database) == 0


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_healthz_reports_a_stuck_or_dead_worker(database, sqlite_url) -> None:
    """``/healthz`` said ok while the worker was wedged on one message or dead."""
    gate = FakeGate(unique_gate_id())
    register(database, gate)
    release = threading.Event()
    entered = threading.Event()

    def sessions():
        session = database.session()

        @event.listens_for(session, "before_flush")
        def _hang(s, _ctx, _instances) -> None:
            if any(isinstance(obj, Crossing) for obj in s.new):
                entered.set()
                release.wait(WAIT_S)  # a driver call that hangs

        return session

    monotonic = _Clock()
    acked: list[Delivery] = []
    worker = IngestWorker(database, ack=acked.append, clock=lambda: NOW_S, sessions=sessions, monotonic=monotonic)
    settings = demo_settings(sqlite_url, ingest_stuck_after_s=60)
    app = create_app(settings, database=database, metrics=worker.metrics,
                     ingest_health=lambda: worker.health(settings.ingest_stuck_after_s), clock=lambda: NOW_S)
    client = app.test_client()
    assert client.get("/healthz").get_json()["ingest"] == "stopped"
    worker.start()
    try:
        assert client.get("/healthz").status_code == 200
        worker.submit(Delivery(*gate.event(crossing("tx-hang"))))
        assert entered.wait(WAIT_S)
        assert client.get("/healthz").get_json()["ingest"] == "ok"  # busy, not yet stuck
        monotonic.now += 61
        response = client.get("/healthz")
        assert response.status_code == 503 and response.get_json()["ingest"] == "stuck"
        release.set()
        assert worker.metrics.wait_until(lambda m: m["acked"] >= 1, WAIT_S)
        assert client.get("/healthz").get_json()["ingest"] == "ok"
    finally:
        release.set()
        worker.stop()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["ingest"] == "stopped"
