"""End to end over a real broker: central publishes the face list, a camera node installs it,
watches a walk-past sequence, and its alarm reaches central's database through the outbox and
the ingest worker; with the broker out of reach the node still alarms from its local list, and
the alarm is delivered after the next start.

Runs on the embedded defaults (amqtt + SQLite) and on the real services (Mosquitto + PostgreSQL).
"""

from __future__ import annotations

import threading
import uuid

import pytest
from cctv_support import PORTRAITS, clear_retained, walk_past
from sqlalchemy import select

import central.cctv.models  # noqa: F401
import central.watchlists.models  # noqa: F401
from central.cctv import cameras, faces, publisher
from central.cctv.models import Camera, CctvAlarmRecord
from central.db import Database
from central.ingest.mqtt import IngestService
from central.services.audit import Actor
from central.settings import CctvSettings, CentralSettings
from central.watchlists import service as watchlist
from edge.cctv.service import CameraService, camera_topics
from edge.cctv.settings import CameraSettings
from edge.cctv.source import open_source
from edge.cctv.threshold import Threshold
from edge.link.assembly import open_outbox
from edge.link.mqtt import MqttLink
from protocol.cctv import FACE_LIST_NOTICE, camera_health, face_delta_topic, face_snapshot_topic
from protocol.keys import generate_keypair
from simulators.cctv_feed import write_frames

WAIT_S = 30.0


def _wait(predicate, timeout_s: float = WAIT_S) -> bool:
    tick = threading.Event()
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return True
        tick.wait(0.1)
    return predicate()


@pytest.mark.services
def test_a_camera_alarm_travels_to_central_and_survives_an_outage(stack, tmp_path, cctv_engine, portraits, face_boxes):
    camera_id = f"cam-e2e-{uuid.uuid4().hex[:6]}"
    camera_key, central_key = generate_keypair(), generate_keypair()
    settings = CentralSettings(
        database_url=stack.database_url, demo_mode=True, cctv=CctvSettings(same_person_threshold=0.6),
        mqtt={"host": stack.broker.host, "port": stack.broker.port, "username": stack.broker.username,
              "password": stack.broker.password, "client_id": f"central-{uuid.uuid4().hex[:8]}"},
    )
    database = Database(settings.database_url)
    database.create_all()
    officer = Actor("sup-e2e", "supervisor")
    with database.session() as session:
        cameras.add_camera(session, camera_id, public_key_b64=camera_key.public.b64, name="E2E hall")
        entry = watchlist.build_entry({"list": "pencegahan", "surname": "OBAMA", "given_names": "B",
                                       "document_numbers": ["E2E00001"]})
        watchlist.add_entry(session, entry, officer)
        faces.enrol_photo(session, cctv_engine, entry.entry_id, (PORTRAITS / "obama.jpg").read_bytes(), officer,
                          settings=settings.cctv)
        faces.commit_version(session, officer, "e2e", settings=settings.cctv, model=cctv_engine.model_tag)
        session.commit()
    frames = tmp_path / "frames"
    write_frames(walk_past(portraits, face_boxes, ["obama2", "astronaut"]).frames(), frames)
    camera_key.save(tmp_path / "camera.key")

    def camera_settings(port: int) -> CameraSettings:
        return CameraSettings(camera_id=camera_id, source=str(frames), key_file=tmp_path / "camera.key",
                              central_public_key=central_key.public.b64, data_dir=tmp_path / "cctv",
                              heartbeat_interval_s=1, mqtt={"host": stack.broker.host, "port": port,
                                                            "username": stack.broker.username,
                                                            "password": stack.broker.password,
                                                            "reconnect_max_s": 2})

    def run_camera(port: int, *, expect_connected: bool):  # type: ignore[no-untyped-def]
        cam = camera_settings(port)
        outbox = open_outbox(cam, camera_key)  # type: ignore[arg-type]
        link = MqttLink(camera_id, cam.mqtt, key=camera_key, central_key=central_key.public, outbox=outbox,
                        heartbeat_interval_s=1, link_topics=camera_topics(camera_id))
        service = CameraService(cam, engine=cctv_engine, link=link, central_key=central_key.public,
                                threshold_rule=lambda n: Threshold(0.45, None, n, None, False, "fixed"))
        service.start()
        try:
            if expect_connected:
                assert link.wait_for_connected(WAIT_S)
                assert _wait(lambda: service.sync.version == 1), "the face list never arrived"
            stats = service.run(open_source(str(frames), fps=15), threading.Event())
            drained = link.wait_for_drained(WAIT_S if expect_connected else 0.5)
            return service, stats, drained, outbox.depth
        finally:
            link.close()
            outbox.close()

    ingest = IngestService(settings, database)
    ingest.start()
    try:
        assert ingest.wait_until_subscribed(15)
        with database.session() as session:
            done = publisher.publish_current(session, key=central_key, publish=lambda t, p, r: ingest.publish(t, p, retain=r),
                                             now_ms=int(__import__("time").time() * 1000), model=cctv_engine.model_tag)
            session.commit()
        assert done.version == 1 and done.templates == 1

        # 1. online: the face list arrives, one alarm for the listed person, delivered.
        service, stats, drained, depth = run_camera(stack.broker.port, expect_connected=True)
        assert (stats.alarms, service.alarms_sent, drained, depth) == (1, 1, True, 0)

        def alarms() -> list[CctvAlarmRecord]:
            with database.session() as session:
                return list(session.scalars(select(CctvAlarmRecord).order_by(CctvAlarmRecord.id)))

        assert _wait(lambda: len(alarms()) == 1)
        (first,) = alarms()
        assert (first.camera_id, first.entry_id, first.status, first.threshold) == (
            camera_id, entry.entry_id, "pending", pytest.approx(0.45))
        assert first.details["face_list_version"] == 1
        with database.session() as session:
            assert _wait(lambda: session.get(Camera, camera_id) is not None)

        # 2. the broker out of reach: the node alarms from its local face list, the alarm waits on disk.
        _, stats, drained, depth = run_camera(1, expect_connected=False)
        assert stats.alarms == 1 and not drained and depth == 1
        assert len(alarms()) == 1

        # 3. the next start with the broker back: the waiting alarm goes out (and the new walk's too).
        _, stats, drained, depth = run_camera(stack.broker.port, expect_connected=True)
        assert drained and depth == 0
        assert _wait(lambda: len(alarms()) == 3)
        assert len({a.message_id for a in alarms()}) == 3
    finally:
        ingest.stop()
        database.dispose()
        clear_retained(stack.broker, [FACE_LIST_NOTICE, face_snapshot_topic(1, 0), face_delta_topic(1),
                                       camera_health(camera_id)])
