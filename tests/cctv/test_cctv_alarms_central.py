"""CCTV alarms at central: verified and stored once by the real ingest worker, confirmed into an
it-05 case (with the flag to every gate and the supervisors' console), dismissed with the same
person-entry pairing silenced on that camera, pictures deleted after retention, views audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cctv_support import NOW_MS, NOW_S, FakeCamera, alarm, unit
from sqlalchemy import func, select

import central.cctv.models  # noqa: F401
import central.watchlists.models  # noqa: F401
from central.cases.models import Case
from central.cctv import alarms, cameras
from central.cctv.errors import AlarmDecisionRefused
from central.cctv.models import Camera, CctvAlarmImage, CctvAlarmRecord, PersonFlagRecord
from central.db import Database
from central.ingest.metrics import IngestMetrics
from central.ingest.worker import Delivery, IngestWorker
from central.models import Alert, AuditEntry, User, from_ms
from central.services.audit import Actor
from central.settings import CctvSettings
from central.watchlists import service as watchlist
from protocol.keys import generate_keypair

OPERATOR = Actor(username="op-1", role="cctv_operator", ip="10.0.0.8")
SUPERVISOR = Actor(username="sup-1", role="supervisor")
SETTINGS = CctvSettings(same_person_threshold=0.6)


@pytest.fixture
def db(database_url: str):
    database = Database(database_url)
    database.create_all()
    with database.session() as session:  # the operator's account: its role gives the petugas TPI position
        session.add(User(username="op-1", role="cctv_operator", password_hash="x", active=True))
        session.commit()
    yield database
    database.dispose()


@pytest.fixture
def camera(db) -> FakeCamera:
    cam = FakeCamera("cam-hall-a")
    with db.session() as session:
        cameras.add_camera(session, cam.camera_id, public_key_b64=cam.key.public.b64, name="Hall A",
                           location="departure hall, row C")
        session.commit()
    return cam


@pytest.fixture
def entry(db) -> str:
    with db.session() as session:
        built = watchlist.build_entry({"list": "pencegahan", "surname": "PRANOTO", "given_names": "JOKO",
                                       "document_numbers": ["C9876543"], "agency": "KPK", "reason": "court order 7"})
        watchlist.add_entry(session, built, SUPERVISOR)
        session.commit()
        return built.entry_id


def ingest(db, *messages, now_s: float = NOW_S, settings: CctvSettings = SETTINGS) -> IngestMetrics:
    metrics = IngestMetrics()
    worker = IngestWorker(db, ack=lambda _d: None, metrics=metrics, clock=lambda: now_s, cctv_settings=settings)
    for topic, payload in messages:
        assert worker.process(Delivery(topic, payload))
    return metrics


def alarm_rows(db) -> list[CctvAlarmRecord]:
    with db.session() as session:
        return list(session.scalars(select(CctvAlarmRecord).order_by(CctvAlarmRecord.id)))


def test_an_alarm_is_stored_once_with_its_pictures(db, camera, entry):
    message = camera.alarm(alarm(entry))
    metrics = ingest(db, message, message, camera.health())  # redelivered once
    (row,) = alarm_rows(db)
    assert (row.status, row.camera_id, row.entry_id, row.list_name) == ("pending", "cam-hall-a", entry, "pencegahan")
    assert row.score == pytest.approx(0.71) and row.threshold == pytest.approx(0.52) and row.seq == 1
    assert row.probe_embedding is not None and row.details["frame_scores"] == [0.74, 0.68]
    assert metrics.snapshot()["cctv_alarms_stored"] == 1 and metrics.snapshot()["cctv_alarms_duplicate"] == 1
    with db.session() as session:
        kinds = sorted(session.scalars(select(CctvAlarmImage.kind).where(CctvAlarmImage.alarm_id == row.id)))
        assert kinds == ["face", "face", "snapshot", "track", "track", "track"]
        cam = session.get(Camera, "cam-hall-a")
        assert cam.online and cam.face_list_version == 3
        view = alarms.alarm_view(session, row)
        assert view["entry"]["surname"] == "PRANOTO" and view["camera_location"] == "departure hall, row C"
        assert view["pictures"] == {"snapshot": 1, "face": 2, "track": 3}
        assert "probe_embedding" not in str(view) and "jpeg" not in str(view)  # the queue view carries no biometrics


def test_bad_camera_messages_are_refused_and_nothing_is_stored(db, camera, entry):
    stranger = FakeCamera("cam-unknown")
    impostor = FakeCamera("cam-hall-a", key=generate_keypair())  # right name, wrong key
    other = FakeCamera("cam-other")
    with db.session() as session:
        cameras.add_camera(session, "cam-other", public_key_b64=other.key.public.b64)
        session.commit()
    topic, payload = other.alarm(alarm(entry))
    metrics = ingest(
        db,
        stranger.alarm(alarm(entry)),
        impostor.alarm(alarm(entry)),
        ("autogate/v1/cctv/cam-hall-a/alarms", payload),  # cam-other's signed alarm on cam-hall-a's topic
        (camera.health()[0].replace("health", "alarms"), camera.health()[1]),  # a heartbeat on the alarm channel
        ("autogate/v1/cctv/cam-hall-a/alarms", b"{not json"),
        camera.alarm(alarm(entry), now_ms=NOW_MS - 30 * 24 * 3600 * 1000),  # a month old: outside the window
    )
    assert alarm_rows(db) == []
    counts = metrics.snapshot()
    assert counts["rejected"] == 6
    for reason in ("unknown_sender", "bad_signature", "malformed", "expired"):
        assert counts[f"rejected_{reason}"] >= 1, reason
    with db.session() as session:  # the forged message on a registered camera's topic is a security alert
        assert session.scalar(select(Alert).where(Alert.kind == "security", Alert.gate_id == "cam-hall-a"))


def test_an_alarm_for_an_entry_no_longer_listed_is_withdrawn(db, camera, entry):
    with db.session() as session:
        watchlist.deactivate_entry(session, entry, SUPERVISOR, "lifted")
        session.commit()
    ingest(db, camera.alarm(alarm(entry)))
    assert [r.status for r in alarm_rows(db)] == ["withdrawn"]


def test_confirm_opens_the_it05_case_and_flags_the_person(db, camera, entry):
    ingest(db, camera.alarm(alarm(entry)))
    (row,) = alarm_rows(db)
    with db.session() as session:
        done = alarms.confirm(session, row.id, OPERATOR, now_ms=NOW_MS, settings=SETTINGS, note="matches, hall C",
                              flag_gates=True, flag_console=True)
        session.commit()
        case = session.get(Case, done.case_id)
        assert (case.workflow_id, case.status, case.current_step) == ("it-05-cctv-alarm", "open", "examine")
        assert case.context["watchlist"]["entry_id"] == entry and case.context["cctv"]["camera_id"] == "cam-hall-a"
        assert case.opened_by == "op-1" and case.source_message_id == row.message_id
        stored = session.get(CctvAlarmRecord, row.id)
        assert (stored.status, stored.decided_by, stored.case_id) == ("confirmed", "op-1", case.id)
        flag = session.scalar(select(PersonFlagRecord))
        assert flag.entry_id == entry and flag.case_id == case.id
        assert flag.expires_at.replace(tzinfo=None) == (from_ms(NOW_MS) + timedelta(hours=24)).replace(tzinfo=None)
        alert = session.scalar(select(Alert).where(Alert.kind == "cctv_confirmed"))
        assert alert.severity == "critical" and alert.requires_ack and "PRANOTO" in alert.message
        assert alert.source_message_id == row.message_id
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.username == "op-1")))
        assert {"case_opened", "cctv_alarm_confirm"} <= actions
        with pytest.raises(AlarmDecisionRefused):
            alarms.dismiss(session, row.id, OPERATOR, now=from_ms(NOW_MS), settings=SETTINGS)


def test_dismiss_silences_the_same_person_on_that_camera_for_the_configured_time(db, camera, entry):
    settings = CctvSettings(same_person_threshold=0.6, dismissal_suppression_h=2)
    person, stranger = unit(11), unit(12)
    near = person + 0.2 * unit(13)
    near /= float((near @ near) ** 0.5)
    other_camera = FakeCamera("cam-hall-b")
    with db.session() as session:
        cameras.add_camera(session, "cam-hall-b", public_key_b64=other_camera.key.public.b64)
        session.commit()
    ingest(db, camera.alarm(alarm(entry, probe=person)), settings=settings)
    (first,) = alarm_rows(db)
    with db.session() as session:
        alarms.dismiss(session, first.id, OPERATOR, now=from_ms(NOW_MS), settings=settings, reason="older, other nose")
        session.commit()
    ingest(db, camera.alarm(alarm(entry, probe=near)),  # the same person again: silenced
           camera.alarm(alarm(entry, probe=stranger)),  # someone else resembling the entry: shown
           other_camera.alarm(alarm(entry, probe=person)),  # the same person on another camera: shown
           settings=settings)
    ingest(db, camera.alarm(alarm(entry, probe=person)), now_s=NOW_S + 3 * 3600, settings=settings)  # after 2 h
    statuses = [(r.camera_id, r.status, r.suppressed_by is not None) for r in alarm_rows(db)]
    assert statuses == [("cam-hall-a", "dismissed", False), ("cam-hall-a", "suppressed", True),
                        ("cam-hall-a", "pending", False), ("cam-hall-b", "pending", False),
                        ("cam-hall-a", "pending", False)]
    with db.session() as session:
        shown = alarms.list_alarms(session, alarms.AlarmQuery(statuses=alarms.VISIBLE))
        assert [r.status for r in shown] == ["pending", "pending", "pending", "dismissed"]  # newest first
        dismissal = session.scalar(select(AuditEntry).where(AuditEntry.action == "cctv_alarm_dismiss"))
        assert dismissal.details["reason"] == "older, other nose"


def test_pictures_of_unconfirmed_alarms_are_deleted_after_retention_and_views_are_audited(db, camera, entry):
    settings = CctvSettings(same_person_threshold=0.6, unconfirmed_retention_h=24)
    ingest(db, camera.alarm(alarm(entry)), camera.alarm(alarm(entry, probe=unit(5))), settings=settings)
    confirmed, unconfirmed = alarm_rows(db)
    with db.session() as session:
        alarms.confirm(session, confirmed.id, OPERATOR, now_ms=NOW_MS, settings=settings)
        view = alarms.view_pictures(session, unconfirmed.id, OPERATOR, settings, from_ms(NOW_MS))
        session.commit()
        assert view["snapshot"].startswith("data:image/jpeg;base64,") and len(view["faces"]) == 2
        assert [f["frame"] for f in view["track"]] == [3, 17, 31]
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "cctv_alarm_view"))
        assert audit.username == "op-1" and audit.target == f"cctv-alarm:{unconfirmed.id}"
    with db.session() as session:
        assert alarms.purge_expired(session, from_ms(NOW_MS) + timedelta(hours=23), settings) == 0
        assert alarms.purge_expired(session, from_ms(NOW_MS) + timedelta(hours=25), settings) == 1
        session.commit()
        gone = session.get(CctvAlarmRecord, unconfirmed.id)
        assert gone.probe_embedding is None and gone.images_purged_at is not None
        assert gone.entry_id == entry and gone.score == pytest.approx(0.71)  # the record of the alarm stays
        left = session.scalar(select(func.count()).select_from(CctvAlarmImage).where(CctvAlarmImage.alarm_id == gone.id))
        kept = session.scalar(select(func.count()).select_from(CctvAlarmImage)
                              .where(CctvAlarmImage.alarm_id == confirmed.id))
        assert (left, kept) == (0, 6)  # evidence of the confirmed alarm stays with its case
        view = alarms.view_pictures(session, gone.id, OPERATOR, settings, from_ms(NOW_MS) + timedelta(hours=25))
        assert view["snapshot"] is None and view["faces"] == [] and view["pictures_deleted_at"]


def test_offline_will_marks_the_camera_offline(db, camera):
    ingest(db, camera.health(online=True, now_ms=NOW_MS - 1000), camera.health(online=False, now_ms=NOW_MS - 5000))
    with db.session() as session:
        cam = session.get(Camera, "cam-hall-a")
        assert not cam.online and cam.online_changed_at is not None
