"""The face watchlist at central: photos checked and enrolled onto watchlist entries (templates
kept, photos not unless the setting says so), versioned, published like the gate lists, and
installed by a camera node that verifies every byte; `autogate watchlist faces import DIR`."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pytest
from cctv_support import NOW_MS, PORTRAITS
from sqlalchemy import select

import central.cctv.models  # noqa: F401  (tables join Base.metadata)
import central.watchlists.models  # noqa: F401
from central.cctv import faces, publisher
from central.cctv.cli import run as cli_run
from central.cctv.errors import PhotoRejected
from central.cctv.models import FaceTemplateRow
from central.db import Database
from central.models import AuditEntry
from central.services.audit import Actor
from central.settings import CctvSettings, CentralSettings
from central.watchlists import service as watchlist
from edge.cctv.sync import FaceListSync
from protocol.cctv import FACE_LIST_NOTICE, face_snapshot_topic
from protocol.keys import generate_keypair

OFFICER = Actor(username="sup-1", role="supervisor", ip="10.0.0.7")
CENTRAL_KEY = generate_keypair()


@pytest.fixture
def engine():
    from edge.face import FaceEngine

    return FaceEngine.from_models(embedder_model="face-mobilefacenet")


@pytest.fixture
def db(database_url: str):
    database = Database(database_url)
    database.create_all()
    yield database
    database.dispose()


def photo(name: str) -> bytes:
    return (PORTRAITS / f"{name}.jpg").read_bytes()


def add_entry(session, surname: str, **extra) -> str:
    entry = watchlist.build_entry({"list": "pencegahan", "surname": surname, "given_names": "X",
                                   "document_numbers": [f"P{abs(hash(surname)) % 10**7:07d}"], **extra})
    watchlist.add_entry(session, entry, OFFICER)
    return entry.entry_id


class FakeBroker:
    """Keeps retained messages the way a broker does (an empty payload deletes)."""

    def __init__(self) -> None:
        self.retained: dict[str, bytes] = {}
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self.sent.append((topic, payload))
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)

    def take(self) -> list[tuple[str, bytes]]:
        out, self.sent = self.sent, []
        return out


def test_a_good_photo_becomes_a_template_and_the_photo_is_not_kept(db, engine):
    settings = CctvSettings()
    with db.session() as session:
        entry_id = add_entry(session, "OBAMA")
        row = faces.enrol_photo(session, engine, entry_id, photo("obama"), OFFICER, settings=settings, source="obama.jpg")
        version = faces.commit_version(session, OFFICER, "first photo", settings=settings, model=engine.model_tag)
        session.commit()
        assert version == 1 and row.in_list
        assert row.photo is None and row.reference_jpeg.startswith(b"\xff\xd8")  # minimised: a face crop only
        assert np.frombuffer(row.embedding, "<f4").size == engine.dimension and row.quality["acceptable"]
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "face_enrol"))
        assert audit.username == "sup-1" and audit.details["template"] == row.id and audit.details["photo_kept"] is False
    kept = CctvSettings(keep_enrolment_photos=True, keep_reference_faces=False)
    with db.session() as session:
        row = faces.enrol_photo(session, engine, entry_id, photo("obama2"), OFFICER, settings=kept)
        assert row.photo == photo("obama2") and row.reference_jpeg is None


@pytest.mark.parametrize("make, reasons", [
    (lambda: cv2.imencode(".jpg", np.full((240, 240, 3), 128, np.uint8))[1].tobytes(), ("no_face",)),
    (lambda: b"definitely not an image", ()),
    (lambda: cv2.imencode(".jpg", np.hstack([cv2.imread(str(PORTRAITS / "obama.jpg"))[:, :258],
                                               cv2.imread(str(PORTRAITS / "biden.jpg"))[:258, :258]]))[1].tobytes(),
     ("several_faces",)),
    (lambda: cv2.imencode(".jpg", cv2.convertScaleAbs(cv2.imread(str(PORTRAITS / "obama.jpg")), alpha=0.2))[1]
     .tobytes(), ("too_dark",)),
], ids=["no-face", "not-an-image", "two-people", "too-dark"])
def test_a_bad_photo_is_refused_with_the_engine_reasons(db, engine, make, reasons):
    with db.session() as session:
        entry_id = add_entry(session, "OBAMA")
        with pytest.raises(PhotoRejected) as refused:
            faces.enrol_photo(session, engine, entry_id, make(), OFFICER, settings=CctvSettings())
        assert set(reasons) <= set(refused.value.reasons)
        assert session.scalar(select(FaceTemplateRow.id)) is None


def test_quality_reasons_can_be_overridden_and_are_recorded(db, engine):
    dark = cv2.imencode(".jpg", cv2.convertScaleAbs(cv2.imread(str(PORTRAITS / "obama.jpg")), alpha=0.2))[1].tobytes()
    with db.session() as session:
        entry_id = add_entry(session, "OBAMA")
        row = faces.enrol_photo(session, engine, entry_id, dark, OFFICER, settings=CctvSettings(), allow_quality=True)
        assert row.quality_override and "too_dark" in row.quality["reasons"]
        with pytest.raises(PhotoRejected, match="already enrolled"):
            faces.enrol_photo(session, engine, entry_id, dark, OFFICER, settings=CctvSettings(), allow_quality=True)


def test_a_deactivated_entry_leaves_the_face_list(db, engine):
    settings = CctvSettings()
    with db.session() as session:
        keep, drop = add_entry(session, "OBAMA"), add_entry(session, "BIDEN")
        faces.enrol_photo(session, engine, keep, photo("obama"), OFFICER, settings=settings)
        gone = faces.enrol_photo(session, engine, drop, photo("biden"), OFFICER, settings=settings)
        assert faces.commit_version(session, OFFICER, "two", settings=settings, model=engine.model_tag) == 1
        assert faces.commit_version(session, OFFICER, "again", settings=settings, model=engine.model_tag) is None
        watchlist.deactivate_entry(session, drop, OFFICER, "lifted")
        assert faces.commit_version(session, OFFICER, "sync", settings=settings, model=engine.model_tag) == 2
        snapshot = faces.current_snapshot(session, model=engine.model_tag)
        assert [t.entry_id for t in snapshot.templates] == [keep] and not gone.in_list
        added, removed = faces.delta_records(session, 2, model=engine.model_tag)
        assert added == () and removed == (gone.id,)


def test_published_list_is_installed_by_the_camera_and_a_delta_follows(db, engine, tmp_path):
    settings = CctvSettings()
    broker = FakeBroker()
    installed = []
    sync = FaceListSync(tmp_path / "cam.facelist.json", model=engine.model_tag, dimension=engine.dimension,
                        central_key=CENTRAL_KEY.public, clock_ms=lambda: NOW_MS, on_installed=installed.append)
    with db.session() as session:
        obama = add_entry(session, "OBAMA")
        faces.enrol_photo(session, engine, obama, photo("obama"), OFFICER, settings=settings)
        faces.commit_version(session, OFFICER, "one", settings=settings, model=engine.model_tag)
        done = publisher.publish_current(session, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS,
                                         model=engine.model_tag, budget_bytes=600)  # tiny chunks: one template each
        session.commit()
    assert done.version == 1 and done.chunks == 1
    for topic, payload in broker.take():
        sync.handle(topic, payload)
    assert sync.version == 1 and installed[-1].version == 1 and len(installed[-1]) == 1
    probe = engine.template(cv2.imread(str(PORTRAITS / "obama2.jpg"))).embedding
    assert installed[-1].search(probe)[0].entry_id == obama

    with db.session() as session:
        biden = add_entry(session, "BIDEN")
        faces.enrol_photo(session, engine, biden, photo("biden"), OFFICER, settings=settings)
        faces.commit_version(session, OFFICER, "two", settings=settings, model=engine.model_tag)
        done = publisher.publish_current(session, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS,
                                         model=engine.model_tag, budget_bytes=600)
        session.commit()
    assert done.delta_sent and done.cleared_versions == (1,) and done.chunks == 2
    messages = broker.take()
    deltas = [(t, p) for t, p in messages if "/delta/" in t]
    sync.handle(*deltas[0])
    assert sync.version == 2 and sync.counts["installed:delta"] == 1 and installed[-1].entries == 2
    assert face_snapshot_topic(1, 0) not in broker.retained  # the old version is cleared from the broker
    # A restarted node reads its local copy: it protects before central is reachable again.
    again = FaceListSync(tmp_path / "cam.facelist.json", model=engine.model_tag, dimension=engine.dimension,
                         central_key=CENTRAL_KEY.public, clock_ms=lambda: NOW_MS)
    assert again.version == 2 and len(again.start()) == 2


def test_the_camera_refuses_forged_tampered_and_foreign_model_lists(db, engine, tmp_path):
    settings = CctvSettings()
    broker = FakeBroker()
    with db.session() as session:
        entry_id = add_entry(session, "OBAMA")
        faces.enrol_photo(session, engine, entry_id, photo("obama"), OFFICER, settings=settings)
        faces.commit_version(session, OFFICER, "one", settings=settings, model=engine.model_tag)
        publisher.publish_current(session, key=CENTRAL_KEY, publish=broker.publish, now_ms=NOW_MS, model=engine.model_tag)
        session.commit()
    chunk_topic = face_snapshot_topic(1, 0)
    chunk = broker.retained[chunk_topic]
    forged = FakeBroker()
    with db.session() as session:
        publisher.publish_current(session, key=generate_keypair(), publish=forged.publish, now_ms=NOW_MS,
                                  model=engine.model_tag)
    sync = FaceListSync(tmp_path / "a.json", model=engine.model_tag, dimension=engine.dimension,
                        central_key=CENTRAL_KEY.public, clock_ms=lambda: NOW_MS)
    assert not sync.handle(chunk_topic, forged.retained[chunk_topic])
    assert not sync.handle(chunk_topic, chunk.replace(b'"version":1', b'"version":2'))
    assert not sync.handle(chunk_topic, b"\x00garbage")
    assert sync.version == 0 and sync.counts["rejected"] == 3
    other = FaceListSync(tmp_path / "b.json", model="face-sface@other", dimension=engine.dimension,
                         central_key=CENTRAL_KEY.public, clock_ms=lambda: NOW_MS)
    assert not other.handle(chunk_topic, chunk) and other.version == 0
    assert sync.handle(FACE_LIST_NOTICE, broker.retained[FACE_LIST_NOTICE]) and sync.handle(chunk_topic, chunk)
    assert sync.version == 1


def test_cli_imports_a_folder_per_entry_and_reports_refused_photos(db, engine, tmp_path, capsys):
    with db.session() as session:
        obama, biden = add_entry(session, "OBAMA"), add_entry(session, "BIDEN")
        session.commit()
    root = tmp_path / "faces"
    for entry_id, names in ((obama, ["obama", "obama3"]), (biden, ["biden"]), ("NOT-AN-ENTRY", ["astronaut"])):
        (root / entry_id).mkdir(parents=True)
        for name in names:
            (root / entry_id / f"{name}.jpg").write_bytes(photo(name))
    (root / biden / "notes.txt").write_text("ignored: not a photo")
    (root / obama / "blank.png").write_bytes(cv2.imencode(".png", np.zeros((50, 50, 3), np.uint8))[1].tobytes())
    settings = CentralSettings(demo_mode=True, database_url=db.url)
    broker = FakeBroker()
    args = argparse.Namespace(command="faces", faces_command="import", folder=Path(root), by="sup-9",
                              allow_quality=False, publish=True)
    status = cli_run(settings, args, publish=broker.publish, engine_factory=lambda: engine)
    out, err = capsys.readouterr()
    assert status == 1  # some photos were refused: the operator must look
    assert "3 photo(s) enrolled, 2 refused; face list version 1" in out
    assert "NOT-AN-ENTRY" in err and "blank.png" in err and "no face" in err
    assert "published face list version 1: 3 templates" in out
    assert FACE_LIST_NOTICE in broker.retained
    with db.session() as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "face_import")).username == "sup-9"


def test_the_monitor_publishes_an_unpublished_version_and_follows_the_watchlist(db, engine):
    from central.cctv.monitor import CctvMonitor

    settings = CctvSettings()
    broker = FakeBroker()
    with db.session() as session:
        obama = add_entry(session, "OBAMA")
        faces.enrol_photo(session, engine, obama, photo("obama"), OFFICER, settings=settings)
        faces.commit_version(session, OFFICER, "while the broker was down", settings=settings, model=engine.model_tag)
        session.commit()
    monitor = CctvMonitor(db, settings, key=CENTRAL_KEY, publish=broker.publish, model=lambda: engine.model_tag,
                          clock=lambda: NOW_MS / 1000)
    monitor.tick()
    assert FACE_LIST_NOTICE in broker.retained and face_snapshot_topic(1, 0) in broker.retained
    with db.session() as session:
        watchlist.deactivate_entry(session, obama, OFFICER, "lifted")
        session.commit()
    monitor.tick()
    with db.session() as session:
        assert faces.current_version(session) == 2 and faces.current_snapshot(session, model=engine.model_tag).templates == ()
    assert face_snapshot_topic(1, 0) not in broker.retained  # the old version cleared
