"""Events a broker lost after acknowledging them to the gate are recovered from the gate's outbox.

The gate's outbox clears a row on its broker PUBACK; a broker can still lose the message before
central commits it (amqtt drops a delivery central has not acknowledged within 5 s; a broker
restart without persistence loses its queues). Central sees the hole in the per-gate sequence,
asks the gate with a signed resend_events command, and the gate resends the stored bytes.
Without this test, "nothing is lost" would rest on the broker alone.
"""

from __future__ import annotations

import threading
import uuid

from central.db import Database
from central.ingest.gaps import GapResolver
from central.ingest.mqtt import IngestService
from central.models import CommandRecord, GateMessage, SequenceGap
from central.services import gates
from central.settings import CentralSettings
from edge.link.assembly import build_link, open_outbox
from edge.settings import EdgeSettings
from protocol.keys import generate_keypair
from protocol.messages import GateEvent


def _wait(predicate, timeout_s: float = 20.0) -> bool:
    tick = threading.Event()
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return True
        tick.wait(0.1)
    return predicate()


def test_lost_events_are_asked_for_and_resent(stack, tmp_path) -> None:
    gate_id = f"gate-gap-{uuid.uuid4().hex[:6]}"
    gate_key, central_key = generate_keypair(), generate_keypair()
    import central.watchlists.models  # noqa: F401

    settings = CentralSettings(
        database_url=stack.database_url, demo_mode=True, secret_key="g" * 40,
        mqtt={"host": stack.broker.host, "port": stack.broker.port, "username": stack.broker.username,
              "password": stack.broker.password, "client_id": f"central-{uuid.uuid4().hex[:8]}"},
    )
    database = Database(settings.database_url)
    database.create_all()
    with database.session() as session:
        gates.add_gate(session, gate_id, public_key_b64=gate_key.public.b64, direction="arrival", name="gap")
        session.commit()
    ingest = IngestService(settings, database)
    ingest.start()
    gate_key.save(tmp_path / "gate.key")
    edge = EdgeSettings(
        gate_id=gate_id, key_file=tmp_path / "gate.key", central_public_key=central_key.public.b64,
        data_dir=tmp_path / "edge", heartbeat_interval_s=0.5, biometrics={"central_url": "http://127.0.0.1:9"},
        mqtt={"host": stack.broker.host, "port": stack.broker.port,
              "username": stack.broker.username, "password": stack.broker.password},
    )
    outbox = open_outbox(edge, gate_key)
    # Three events a previous run sent, had acknowledged by the broker, and the broker then lost.
    for n in range(3):
        row = outbox.append(GateEvent(event="door_closed", details={"n": n}))
        outbox.mark_delivered(row.seq)
    link = build_link(edge, key=gate_key, central_key=central_key.public, outbox=outbox)
    link.on_command(lambda command: None)  # the gate machine is not needed: resend is the link's own
    try:
        assert ingest.wait_until_subscribed(15)
        link.start()
        assert link.wait_for_connected(15)
        link.publish_event(GateEvent(event="door_closed", details={"n": 3}))
        link.publish_event(GateEvent(event="door_closed", details={"n": 4}))

        def stored_seqs() -> list[int]:
            with database.session() as session:
                return sorted(m.seq for m in session.query(GateMessage).filter_by(gate_id=gate_id))

        assert _wait(lambda: stored_seqs() == [4, 5]), stored_seqs()
        with database.session() as session:
            [gap] = session.query(SequenceGap).filter_by(gate_id=gate_id).all()
            assert (gap.from_seq, gap.to_seq, gap.closed_at) == (1, 3, None)

        resolver = GapResolver(database, key=central_key, publisher=ingest, grace_s=0.0)
        [request] = resolver.check_once()
        assert (request.from_seq, request.to_seq) == (1, 3)
        # 1..3 resent, and 6: the gate's acknowledgement of the resend command.
        assert _wait(lambda: stored_seqs() == [1, 2, 3, 4, 5, 6]), stored_seqs()

        def closed() -> bool:
            with database.session() as session:
                gap = session.query(SequenceGap).filter_by(gate_id=gate_id).one()
                record = session.query(CommandRecord).filter_by(gate_id=gate_id).one()
                return gap.closed_at is not None and record.status == "accepted"

        assert _wait(closed), "the gap did not close, or the gate did not acknowledge the resend"
    finally:
        link.close()
        outbox.close()
        ingest.stop()
        database.dispose()
