"""Two ingest worker PROCESSES (``autogate central ingest``) on one MQTT shared subscription and
one PostgreSQL: every message is stored exactly once, also when one worker is SIGKILLed
mid-stream and comes back (as a supervisor such as systemd restarts it).

Real parts only: Mosquitto (shared subscriptions, ``$share/<group>/...``) and PostgreSQL (the
``stack`` fixture's services half; the embedded amqtt broker has no shared subscriptions), the
production command line, gates signing with their own keys. No timed assertions: the test waits
for what it needs to see and fails with what it saw if that never comes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from central_support import crossing, gate_event, register, unique_gate_id
from signing_gate import FakeGate
from sqlalchemy import func, select

from bench.central.load import forget_session
from central.cli import _database
from central.models import Crossing, Gate, GateMessage, SequenceGap
from central.settings import CentralSettings
from protocol import generate_keypair

ROOT = Path(__file__).resolve().parents[2]
PATIENCE_S = 120.0  # how long to wait for something before failing with what was seen


class WorkerProcess:
    """One ``autogate central ingest`` process; its log lines are kept (and drained, so it never blocks)."""

    def __init__(self, env: dict[str, str], client_id: str) -> None:
        self.client_id = client_id
        self.lines: list[str] = []
        self.subscribed = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autogate", "central", "ingest"],
            env={**env, "AUTOGATE_CENTRAL_MQTT__CLIENT_ID": client_id},
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            if "ingest: subscribed" in line:
                self.subscribed.set()

    def wait_subscribed(self) -> None:
        if not self.subscribed.wait(PATIENCE_S):
            raise AssertionError(f"worker {self.client_id} never subscribed:\n" + "\n".join(self.lines[-30:]))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(10)


class Gates:
    """Gates publishing their signed events at QoS 1, each from a client of its own."""

    def __init__(self, broker, gates: list[FakeGate]) -> None:
        self.clients = []
        for g in gates:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=g.gate_id, protocol=mqtt.MQTTv311)
            if broker.username:
                client.username_pw_set(broker.username, broker.password)
            client.max_inflight_messages_set(100)
            client.connect(broker.host, broker.port)
            client.loop_start()
            self.clients.append(client)
        self.infos: list[mqtt.MQTTMessageInfo] = []

    def publish(self, index: int, topic: str, payload: bytes) -> None:
        self.infos.append(self.clients[index].publish(topic, payload, qos=1))

    def close(self) -> None:
        for info in self.infos:
            info.wait_for_publish(PATIENCE_S)
        for client in self.clients:
            client.disconnect()
            client.loop_stop()


def ledger_count(database, gate_ids: list[str]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(GateMessage).where(GateMessage.gate_id.in_(gate_ids))) or 0


def wait_for_count(database, gate_ids: list[str], at_least: int, workers: list[WorkerProcess]) -> int:
    deadline = time.monotonic() + PATIENCE_S
    seen = ledger_count(database, gate_ids)
    while seen < at_least:
        if time.monotonic() > deadline:
            logs = "\n".join(f"[{w.client_id}] {line}" for w in workers for line in w.lines[-15:])
            raise AssertionError(f"{seen} of {at_least} messages stored after {PATIENCE_S:.0f} s\n{logs}")
        threading.Event().wait(0.1)
        seen = ledger_count(database, gate_ids)
    return seen


@pytest.mark.parametrize("stack", ["services"], indirect=True)
def test_two_worker_processes_on_a_shared_subscription_store_every_message_once_through_a_sigkill(stack, tmp_path):
    key_file = tmp_path / "central.key"
    generate_keypair().save(key_file)
    broker = stack.broker
    env = {
        **os.environ,
        "AUTOGATE_CENTRAL_DATABASE_URL": stack.database_url,
        "AUTOGATE_CENTRAL_SECRET_KEY": "s" * 40,
        "AUTOGATE_CENTRAL_CENTRAL_KEY_FILE": str(key_file),
        "AUTOGATE_CENTRAL_MQTT__HOST": broker.host,
        "AUTOGATE_CENTRAL_MQTT__PORT": str(broker.port),
        "AUTOGATE_CENTRAL_INGEST_SHARE_GROUP": f"test-{uuid.uuid4().hex[:8]}",
        "AUTOGATE_CENTRAL_INGEST_RETRY_INITIAL_S": "0.1",
    }
    if broker.username:
        env["AUTOGATE_CENTRAL_MQTT__USERNAME"] = broker.username
        env["AUTOGATE_CENTRAL_MQTT__PASSWORD"] = broker.password or ""
    database = _database(CentralSettings(demo_mode=True, database_url=stack.database_url))
    database.migrate()
    gates = [FakeGate(unique_gate_id()) for _ in range(4)]
    for g in gates:
        register(database, g)
    gate_ids = [g.gate_id for g in gates]
    per_gate = 150
    messages = []  # round robin over the gates, a crossing every tenth event
    for n in range(per_gate):
        for i, g in enumerate(gates):
            payload = crossing(f"{g.gate_id}-tx{n}") if n % 10 == 9 else gate_event("document_read")
            messages.append((i, *g.event(payload, now_ms=int(time.time() * 1000))))
    run = uuid.uuid4().hex[:8]
    workers = [WorkerProcess(env, f"autogate-ingest-test-{run}-a"), WorkerProcess(env, f"autogate-ingest-test-{run}-b")]
    publisher = None
    try:
        for w in workers:
            w.wait_subscribed()
        publisher = Gates(broker, gates)
        third = len(messages) // 3
        for index, topic, payload in messages[:2 * third]:
            publisher.publish(index, topic, payload)
        # Mid-stream: once a third is stored, while the second third is still arriving.
        wait_for_count(database, gate_ids, third, workers)
        workers[1].kill()
        for index, topic, payload in messages[2 * third:]:
            publisher.publish(index, topic, payload)
        # The supervisor restarts it under the same client id: the broker hands it the session
        # it kept (what was in flight, unacknowledged, and what was queued for it meanwhile).
        workers[1] = WorkerProcess(env, workers[1].client_id)
        workers[1].wait_subscribed()
        wait_for_count(database, gate_ids, len(messages), workers)
        publisher.close()
        publisher = None
    finally:
        if publisher is not None:
            publisher.close()
        for w in workers:
            w.stop()
            forget_session(broker.host, broker.port, w.client_id, broker.username, broker.password)
    with database.session() as session:
        rows = session.scalar(select(func.count()).select_from(GateMessage).where(GateMessage.gate_id.in_(gate_ids)))
        distinct = session.scalar(select(func.count(func.distinct(GateMessage.message_id)))
                                  .where(GateMessage.gate_id.in_(gate_ids)))
        crossings = session.scalar(select(func.count()).select_from(Crossing).where(Crossing.gate_id.in_(gate_ids)))
        open_gaps = session.scalar(select(func.count()).select_from(SequenceGap).where(
            SequenceGap.gate_id.in_(gate_ids), SequenceGap.closed_at.is_(None)))
        last_seqs = {g.id: g.last_seq for g in session.scalars(select(Gate).where(Gate.id.in_(gate_ids)))}
    database.dispose()
    assert rows == distinct == len(messages), "a message was stored twice or lost"
    assert crossings == len(gates) * per_gate // 10
    assert open_gaps == 0
    assert set(last_seqs.values()) == {per_gate}
    # Both took part: the worker that was never killed stored some, not all.
    survivor = stored_by(workers[0])
    assert 0 < survivor < len(messages), survivor


def stored_by(worker: WorkerProcess) -> int:
    """What a worker said it stored, from the counts it logs when it stops."""
    [line] = [line for line in worker.lines if "ingest: stopped; counts" in line]
    return int(json.loads(line.split("counts ", 1)[1]).get("stored", 0))
