"""The CCTV pages and API over HTTP: who may do what, the operator's flow from queue to case, photo
upload on a watchlist entry, the live stream's frames, and the nav entry a user reaches them by."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from cctv_support import NOW_S, PORTRAITS, FakeCamera, act_as, alarm
from flask import Flask
from sqlalchemy import select

import central
from central.app import create_app
from central.cctv import cameras
from central.cctv.views import SCRIPT_STRINGS, stream_frames
from central.cctv.views import init_app as init_cctv
from central.db import Database
from central.events import LocalBus
from central.i18n_table import INDONESIAN
from central.ingest.worker import Delivery, IngestWorker
from central.models import AuditEntry
from central.roles import Role, declared_roles
from central.services.audit import Actor
from central.settings import CctvSettings, CentralSettings
from central.watchlists import service as watchlist
from central.watchlists.views import init_app as init_watchlists
from protocol.cctv import PERSON_FLAGS, open_cctv
from protocol.keys import generate_keypair

KEY = generate_keypair()
WATCH = frozenset({Role.CCTV_OPERATOR, Role.SUPERVISOR, Role.ADMIN})
OPERATE = frozenset({Role.CCTV_OPERATOR, Role.SUPERVISOR})
MANAGE = frozenset({Role.ADMIN, Role.SUPERVISOR})
# The intended policy, written down apart from the decorators.
EXPECTED = {
    "cctv.queue": WATCH, "cctv.script": WATCH, "cctv.stream": WATCH, "cctv.stylesheet": WATCH | MANAGE,
    "cctv.faces_page": MANAGE, "cctv.upload_form": MANAGE, "cctv.remove_form": MANAGE,
    "cctv_api.list_alarms": WATCH, "cctv_api.get_alarm": WATCH, "cctv_api.pictures": WATCH,
    "cctv_api.acknowledge": OPERATE, "cctv_api.confirm": OPERATE, "cctv_api.dismiss": OPERATE,
    "cctv_api.list_cameras": WATCH, "cctv_api.entry_faces": MANAGE, "cctv_api.enrol_face": MANAGE,
    "cctv_api.remove_face": MANAGE, "cctv_api.face_list_versions": MANAGE,
}


class Broker:
    def __init__(self) -> None:
        self.retained: dict[str, bytes] = {}

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        if retain:
            self.retained[topic] = payload


@pytest.fixture(scope="module")
def engine():
    from edge.face import FaceEngine

    return FaceEngine.from_models(embedder_model="face-mobilefacenet")


@pytest.fixture
def world(tmp_path, engine):
    url = f"sqlite:///{tmp_path / 'central.db'}"
    database = Database(url)
    database.create_all()
    broker, bus = Broker(), LocalBus()
    settings = CentralSettings(demo_mode=True, database_url=url, cctv=CctvSettings(same_person_threshold=0.6))
    app = create_app(settings, database=database, central_key=KEY, clock=lambda: NOW_S, bus=bus, extensions=[
        init_watchlists, lambda a: init_cctv(a, publish=broker.publish, engine_factory=lambda: engine)])
    camera = FakeCamera("cam-a")
    with database.session() as session:
        cameras.add_camera(session, "cam-a", public_key_b64=camera.key.public.b64, name="Hall A", location="row C")
        entry = watchlist.build_entry({"list": "pencegahan", "surname": "PRANOTO", "given_names": "JOKO",
                                       "document_numbers": ["C9876543"]})
        watchlist.add_entry(session, entry, Actor("sup", "supervisor"))
        session.commit()
    worker = IngestWorker(database, ack=lambda _d: None, clock=lambda: NOW_S, bus=bus,
                          cctv_settings=settings.cctv)
    yield app, database, broker, camera, entry.entry_id, worker, bus
    database.dispose()


def test_every_cctv_endpoint_declares_exactly_the_intended_roles(world) -> None:
    app = world[0]
    declared = {e: declared_roles(v) for e, v in app.view_functions.items() if e.startswith(("cctv.", "cctv_api."))}
    assert declared == EXPECTED


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_queue_is_for_the_operator_and_those_who_watch_with_them(world, role: str) -> None:
    app, database = world[0], world[1]
    client = app.test_client()
    act_as(client, database, role)
    page = client.get("/cctv")
    assert page.status_code == (200 if role in WATCH else 403)
    home = client.get("/")
    if role == Role.CCTV_OPERATOR:  # the operator lands on the queue, and the nav leads back to it
        assert home.status_code == 302 and home.headers["Location"].endswith("/cctv")
        assert 'data-endpoint="cctv.queue"' in page.get_data(as_text=True)
    token, _ = act_as(client, database, role)
    confirm = client.post("/api/v1/cctv/alarms/1/confirm", json={}, headers={"X-CSRF-Token": token})
    assert confirm.status_code == (404 if role in OPERATE else 403)


def test_operator_flow_from_alarm_to_the_it05_case(world) -> None:
    app, database, broker, camera, entry_id, worker, _ = world
    assert worker.process(Delivery(*camera.alarm(alarm(entry_id))))
    client = app.test_client()
    token, operator = act_as(client, database, "cctv_operator")
    queue = client.get("/api/v1/cctv/alarms").get_json()
    (item,) = queue["alarms"]
    assert item["entry"]["surname"] == "PRANOTO" and item["status"] == "pending" and not item["acknowledged_at"]
    assert queue["cameras"][0]["id"] == "cam-a"
    pictures = client.get(f"/api/v1/cctv/alarms/{item['id']}/pictures").get_json()
    assert pictures["snapshot"].startswith("data:image/jpeg") and len(pictures["track"]) == 3
    acked = client.post(f"/api/v1/cctv/alarms/{item['id']}/ack", headers={"X-CSRF-Token": token}).get_json()
    assert acked["acknowledged_by"] == operator
    done = client.post(f"/api/v1/cctv/alarms/{item['id']}/confirm", headers={"X-CSRF-Token": token},
                       json={"note": "seen at counter 4", "flag_gates": True, "flag_console": True})
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "confirmed" and body["case_url"] == f"/cases/{body['case_id']}"
    assert body["flags_published"] is True
    flags = open_cctv(broker.retained[PERSON_FLAGS], keys={"central": KEY.public}, now_ms=int(NOW_S * 1000)).payload
    assert [f.entry_id for f in flags.flags] == [entry_id]
    case = client.get(f"/api/v1/cases/{body['case_id']}").get_json()
    assert case["workflow_id"] == "it-05-cctv-alarm" and case["clock"]["step"] == "examine"
    assert case["clock"]["standard_s"] == 300
    assert "CCTV face-recognition alarm" in client.get(body["case_url"]).get_data(as_text=True)
    again = client.post(f"/api/v1/cctv/alarms/{item['id']}/dismiss", headers={"X-CSRF-Token": token}, json={})
    assert again.status_code == 409
    with database.session() as session:
        actions = [a for a in session.scalars(select(AuditEntry.action).where(AuditEntry.username == operator))]
        assert {"cctv_alarm_view", "cctv_alarm_acknowledge", "cctv_alarm_confirm", "case_opened"} <= set(actions)


def test_the_live_stream_sends_each_new_alarm(world) -> None:
    app, database, _, camera, entry_id, worker, bus = world
    subscription = bus.subscribe()
    frames = stream_frames(database, subscription, heartbeat_s=0.05, max_s=5)
    assert next(frames).startswith("retry:")
    assert worker.process(Delivery(*camera.alarm(alarm(entry_id))))
    frame = next(f for f in frames if f.startswith("event:"))
    frames.close()
    assert frame.startswith("event: alarm\n") and '"surname":"PRANOTO"' in frame and "jpeg" not in frame


def test_a_supervisor_uploads_a_photo_on_the_entry_page(world) -> None:
    app, database, broker, _, entry_id, _, _ = world
    client = app.test_client()
    token, supervisor = act_as(client, database, "supervisor")
    listing = client.get("/watchlist").get_data(as_text=True)
    assert f"/cctv/watchlist/{entry_id}" in listing  # the watchlist page leads to the entry's photos
    upload = client.post(f"/cctv/watchlist/{entry_id}/photos", content_type="multipart/form-data",
                         data={"csrf_token": token, "photo": (io.BytesIO((PORTRAITS / "obama.jpg").read_bytes()), "o.jpg")})
    assert upload.status_code == 302
    page = client.get(f"/cctv/watchlist/{entry_id}").get_data(as_text=True)
    assert "Photo enrolled" in page and 'data-template-id="' in page and "data:image/jpeg;base64," in page
    assert any(t.endswith("/notice") for t in broker.retained)  # published to the cameras
    bad = client.post(f"/api/v1/cctv/watchlist/{entry_id}/faces", headers={"X-CSRF-Token": token},
                      content_type="multipart/form-data", data={"photo": (io.BytesIO(b"nope"), "x.jpg")})
    assert bad.status_code == 422 and bad.get_json()["error"] == "photo_rejected"
    faces = client.get(f"/api/v1/cctv/watchlist/{entry_id}/faces").get_json()["faces"]
    assert len(faces) == 1 and faces[0]["in_list"] and not faces[0]["photo_kept"]
    officer = app.test_client()
    token, _ = act_as(officer, database, "officer")
    assert officer.post(f"/api/v1/cctv/watchlist/{entry_id}/faces", headers={"X-CSRF-Token": token},
                        data=b"x").status_code == 403
    with database.session() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "face_reference_view",
                                                       AuditEntry.username == supervisor))


def test_every_cctv_ui_string_has_an_indonesian_translation() -> None:
    root = Path(central.__file__).parent / "cctv"
    used = set(SCRIPT_STRINGS)
    for template in (root / "templates" / "cctv").glob("*.html"):
        text = template.read_text()
        used |= set(re.findall(r'_\("([^"]+)"', text)) | set(re.findall(r"_\('([^']+)'", text))
    used |= set(re.findall(r'\bt\("([^"]+)"\)', (root / "static" / "cctv.js").read_text()))
    assert sorted(s for s in used if s not in INDONESIAN) == []


def test_app_without_the_cctv_area_has_no_nav_entry(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    database = Database(url)
    database.create_all()
    app: Flask = create_app(CentralSettings(demo_mode=True, database_url=url), database=database, central_key=KEY)
    client = app.test_client()
    act_as(client, database, "cctv_operator")
    home = client.get("/")
    assert home.status_code == 200 and 'data-endpoint="cctv.queue"' not in home.get_data(as_text=True)
    database.dispose()
