"""End to end: a gate runtime publishes through its outbox and the broker; central ingests into
its database; a supervisor who logs in over HTTP sees the crossing.

Runs on the embedded defaults (amqtt + SQLite) and on the real services (Mosquitto + PostgreSQL),
with the real parts of each side: MqttLink + Outbox + GateRuntime + SimulatedGateHardware on the
gate, IngestService + the Flask app on central. Without this test, each side could pass its own
tests and still disagree about the wire (topics, keys, sender binding, ack order).
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import date

import pytest

from central.app import create_app
from central.db import Database
from central.ingest.mqtt import IngestService
from central.models import Crossing, Gate, GateMessage
from central.services import gates, users
from central.settings import CentralSettings
from edge.gate.config import GateConfig
from edge.gate.machine import GateMachine
from edge.gate.recognition import Recognition
from edge.gate.runtime import GateRuntime
from edge.hardware.clock import ManualScheduler
from edge.hardware.simulated import SimulatedGateHardware
from edge.link.assembly import build_link, open_outbox
from edge.settings import EdgeSettings
from protocol.keys import generate_keypair
from simulators.travelers import GateDriver, make_traveler

TODAY = date.today()


def _wait(predicate, timeout_s: float = 20.0) -> bool:
    """Poll *predicate* on a bounded loop (waiting on an Event, never a bare sleep)."""
    tick = threading.Event()
    deadline = timeout_s / 0.1
    for _ in range(int(deadline)):
        if predicate():
            return True
        tick.wait(0.1)
    return predicate()


@pytest.mark.services
def test_crossing_travels_from_gate_to_supervisor(stack, tmp_path) -> None:
    gate_id = f"gate-e2e-{uuid.uuid4().hex[:6]}"
    gate_key, central_key = generate_keypair(), generate_keypair()

    # -- central: schema, a supervisor, the gate's public key, ingest subscribed ------------------
    import central.watchlists.models  # noqa: F401  (the full schema, as `serve` creates it)

    settings = CentralSettings(
        database_url=stack.database_url,
        secret_key="e2e-" + "s" * 40,
        demo_mode=True,
        mqtt={
            "host": stack.broker.host,
            "port": stack.broker.port,
            "username": stack.broker.username,
            "password": stack.broker.password,
            "client_id": f"central-{uuid.uuid4().hex[:8]}",
        },
    )
    database = Database(settings.database_url)
    database.create_all()
    with database.session() as session:
        users.create_user(session, "spv1", "supervisor", "correct horse battery staple")
        gates.add_gate(session, gate_id, public_key_b64=gate_key.public.b64, direction="departure", name="E2E")
        session.commit()
    ingest = IngestService(settings, database)
    ingest.start()
    try:
        assert ingest.wait_until_subscribed(15), "central never subscribed"

        # -- the gate: outbox, MQTT link, runtime, simulated devices ------------------------------
        gate_key.save(tmp_path / "gate.key")
        edge = EdgeSettings(
            gate_id=gate_id,
            key_file=tmp_path / "gate.key",
            mqtt={"host": stack.broker.host, "port": stack.broker.port,
                  "username": stack.broker.username, "password": stack.broker.password},
            central_public_key=central_key.public.b64,
            data_dir=tmp_path / "edge",
            biometrics={"central_url": "http://127.0.0.1:9"},
            heartbeat_interval_s=1,
        )
        (tmp_path / "edge").mkdir()
        outbox = open_outbox(edge, gate_key)
        link = build_link(edge, key=gate_key, central_key=central_key.public, outbox=outbox)
        scheduler = ManualScheduler()
        hardware = SimulatedGateHardware(scheduler=scheduler)
        runtime = GateRuntime(
            GateMachine(GateConfig(gate_id=gate_id, direction="departure")),
            hardware=hardware, link=link, recognition=Recognition(), scheduler=scheduler,
            time_origin_ms=_wall_ms(),
        )
        runtime.start()
        link.start()
        try:
            assert link.wait_for_connected(15)
            traveler = make_traveler(__import__("random").Random(7), 0, today=TODAY, foreign=False, expired=False,
                                     document_readable=True, finger_samples=("genuine",), face_samples=("genuine",))
            outcome = GateDriver(runtime, hardware, scheduler).run_traveler(traveler)
            assert outcome == "crossed"
            assert link.wait_for_drained(20), "the outbox did not drain"
            sent = outbox.last_seq
        finally:
            runtime.stop()
            link.close()
            hardware.close()
            outbox.close()

        # -- central stored it once, with the nine MRZ fields and no sequence gap -----------------
        def stored() -> bool:
            with database.session() as session:
                return session.query(GateMessage).filter_by(gate_id=gate_id).count() >= sent
        assert _wait(stored), "not every event reached central's database"
        with database.session() as session:
            crossing = session.query(Crossing).filter_by(gate_id=gate_id).one()
            assert crossing.document_number == traveler.document_number
            gate = session.get(Gate, gate_id)
            seqs = sorted(m.seq for m in session.query(GateMessage).filter_by(gate_id=gate_id))
            assert seqs == list(range(1, len(seqs) + 1)), "gap or duplicate in the stored sequence"
            assert gate.last_seq == seqs[-1]

        # -- a supervisor logs in over HTTP and sees it ------------------------------------------
        app = create_app(settings, database=database, central_key=central_key)
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"username": "spv1", "password": "correct horse battery staple",
                                               "csrf_token": token})
        assert response.status_code == 302
        listing = client.get(f"/api/v1/crossings?document_number={traveler.document_number}")
        assert listing.status_code == 200
        rows = listing.get_json()["crossings"]
        assert [r["gate_id"] for r in rows] == [gate_id]
        assert client.get("/console").status_code == 200
    finally:
        ingest.stop()
        database.dispose()


def _wall_ms() -> int:
    import time

    return time.time_ns() // 1_000_000
