"""Central as several processes (issue 23 item 3, the web half): two web processes — gunicorn
with two gevent workers, and ``autogate central serve`` without ingest — and a separate
``autogate central ingest``, against one PostgreSQL and one Mosquitto. Hold alarms sent by a
gate must reach every console stream on both web processes, each alarm exactly once.

Without the bus between processes (central/buses.py) the ingest process's notices stayed in its
own memory: no stream on either web process heard an alarm (this test failed so)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bench.central.web_client import ConsoleUser, EventStream
from central.db import Database, metadata
from central.ingest.mqtt import SUBSCRIPTIONS
from central.models import Alert
from central.services import gates, users
from protocol import GateEvent, generate_keypair
from signing_gate import TRAVELER, FakeGate

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
ALARMS = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _healthy(port: int) -> bool:
    try:
        return ConsoleUser("127.0.0.1", port, timeout_s=2).timed_get("/healthz")[0] == 200
    except OSError:
        return False


def _mqtt_client(broker, client_id: str, *, clean: bool) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)
    client.username_pw_set(broker.username, broker.password)
    return client


def _prepare_ingest_session(broker, client_id: str) -> None:
    """Create the ingest process's persistent session on the broker before any gate publishes, so
    the broker queues every alarm for it whenever it finishes connecting (no race, no sleep)."""
    client = _mqtt_client(broker, client_id, clean=False)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_args: c.subscribe(SUBSCRIPTIONS)
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "the broker never acknowledged the ingest session's subscriptions"
    finally:
        client.disconnect()
        client.loop_stop()


def _forget_session(broker, client_id: str) -> None:
    client = _mqtt_client(broker, client_id, clean=True)  # a clean connect drops the stored session
    client.connect(broker.host, broker.port)
    client.disconnect()


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("wb")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_alarms_reach_consoles_on_every_web_process_once(postgres_url, mosquitto, tmp_path) -> None:
    broker = mosquitto
    key_file = tmp_path / "central.key"
    generate_keypair().save(key_file)
    ingest_id = f"ingest-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "AUTOGATE_CENTRAL_DATABASE_URL": postgres_url,
        "AUTOGATE_CENTRAL_SECRET_KEY": "web-processes-" + uuid.uuid4().hex * 2,
        "AUTOGATE_CENTRAL_CENTRAL_KEY_FILE": str(key_file),
        "AUTOGATE_CENTRAL_MQTT__HOST": broker.host,
        "AUTOGATE_CENTRAL_MQTT__PORT": str(broker.port),
        "AUTOGATE_CENTRAL_MQTT__USERNAME": broker.username or "",
        "AUTOGATE_CENTRAL_MQTT__PASSWORD": broker.password or "",
        "AUTOGATE_CENTRAL_BUS__KIND": "postgres",
        "AUTOGATE_CENTRAL_BUS__CHANNEL": f"t_{uuid.uuid4().hex[:12]}",  # NOTIFY is database-wide
    }
    metadata()
    database = Database(postgres_url)
    database.migrate()
    gate = FakeGate(f"gt-{uuid.uuid4().hex[:10]}")
    with database.session() as session:
        users.create_user(session, "spv-web", "supervisor", PASSWORD)
        gates.add_gate(session, gate.gate_id, public_key_b64=gate.key.public.b64, direction="departure")
        session.commit()
    _prepare_ingest_session(broker, ingest_id)

    port_a, port_b = _free_port(), _free_port()
    procs = [
        _spawn([sys.executable, "-m", "gunicorn", "-c", "python:central.gunicorn_conf", "--workers", "2",
                "central.wsgi:create_application()"],
               {**env, "AUTOGATE_WEB_BIND": f"127.0.0.1:{port_a}"}, tmp_path / "web-a.log"),
        _spawn([sys.executable, "-m", "autogate", "central", "serve"],
               {**env, "AUTOGATE_CENTRAL_HTTP__PORT": str(port_b), "AUTOGATE_CENTRAL_INGEST_ENABLED": "false"},
               tmp_path / "web-b.log"),
        _spawn([sys.executable, "-m", "autogate", "central", "ingest"],
               {**env, "AUTOGATE_CENTRAL_MQTT__CLIENT_ID": ingest_id}, tmp_path / "ingest.log"),
    ]
    streams: list[tuple[str, EventStream]] = []
    try:
        for port in (port_a, port_b):
            assert _wait(lambda: _healthy(port), 60), (tmp_path / "web-a.log").read_text()[-3000:] + (
                tmp_path / "web-b.log").read_text()[-3000:]
        # Four streams on gunicorn (its two workers share the port: both get some), two on serve.
        for name, port, count in (("gunicorn", port_a, 4), ("serve", port_b, 2)):
            for _ in range(count):
                user = ConsoleUser("127.0.0.1", port)
                user.login("spv-web", PASSWORD)
                streams.append((name, EventStream("127.0.0.1", port, user.cookie)))
        for name, stream in streams:
            assert stream.opened.wait(30) and stream.status == 200, name

        publisher = _mqtt_client(broker, f"gate-{uuid.uuid4().hex[:8]}", clean=True)
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        try:
            for n in range(ALARMS):
                hold = GateEvent(event="alarm_raised", transaction_id=f"tx-{n}", reason="cekal_identik", traveler=TRAVELER)
                topic, payload = gate.event(hold, now_ms=int(time.time() * 1000))
                publisher.publish(topic, payload, qos=1).wait_for_publish(10)
        finally:
            publisher.disconnect()
            publisher.loop_stop()

        def stored() -> list[int]:
            with database.session() as session:
                return sorted(a.id for a in session.query(Alert).filter(Alert.gate_id == gate.gate_id))

        assert _wait(lambda: len(stored()) == ALARMS, 60), (tmp_path / "ingest.log").read_text()[-3000:]
        expected = stored()

        def holds(stream: EventStream) -> list[int]:
            return [a["id"] for a in stream.of_kind("alert") if a.get("kind") == "watchlist_hold"]

        _wait(lambda: all(len(holds(s)) >= ALARMS for _n, s in streams), 30)
        for name, stream in streams:
            seen = holds(stream)
            duplicated = [alert for alert, count in Counter(seen).items() if count > 1]
            assert not duplicated, f"{name}: alarms {duplicated} arrived twice"
            assert sorted(seen) == expected, f"{name}: missed {sorted(set(expected) - set(seen))}"
    finally:
        for _name, stream in streams:
            stream.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _forget_session(broker, ingest_id)
        database.dispose()
