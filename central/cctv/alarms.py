"""CCTV alarms at central: stored once, judged by an operator, kept only as long as needed.

:func:`store_alarm` runs inside the ingest transaction. An alarm on an entry no longer listed is
kept as ``withdrawn`` (not shown); one whose person and entry an operator dismissed on that
camera within the suppression time is kept as ``suppressed`` (not shown, not sounded). The rest
are ``pending`` in the operator's queue until confirmed (SOP it-05: the passenger is examined;
an it-05 case opens, see :func:`confirm`) or dismissed ("not this person").

Retention (docs/cctv.md): the pictures and probe template of every alarm that was not confirmed
are deleted ``unconfirmed_retention_h`` after it arrived; those of a confirmed alarm stay with
its case as evidence. A dismissal keeps the dismissed person's template only until its
suppression ends. Every view of an alarm's pictures or a watchlist face is audited. Nothing here
commits; the caller does, with the audit entry in the same transaction.
"""

from __future__ import annotations

import base64
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from central.cases import service as cases
from central.cctv.errors import AlarmDecisionRefused, AlarmNotFound
from central.cctv.models import (
    Camera,
    CctvAlarmImage,
    CctvAlarmRecord,
    CctvDismissal,
    FaceTemplateRow,
    PersonFlagRecord,
)
from central.models import Alert, as_utc, from_ms
from central.services import audit
from central.settings import CctvSettings
from central.watchlists.models import WatchlistEntryRow
from protocol.envelope import Envelope
from protocol.messages import CctvAlarm

log = logging.getLogger(__name__)

IT05 = "it-05-cctv-alarm"
VISIBLE = ("pending", "confirmed", "dismissed")  # the queue's statuses; suppressed/withdrawn stay out of sight


def _embedding(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.frombuffer(data, dtype="<f4")


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def same_person_threshold(settings: CctvSettings) -> float:
    """The configured threshold, else the embedder's 1:1 threshold at FMR 0.1 %."""
    if settings.same_person_threshold is not None:
        return settings.same_person_threshold
    from edge import modelstore

    points = modelstore.find_manifest(settings.face_embedder).extra.get("operating_points", {})
    return float(points.get("0.001", 0.4))


# ------------------------------------------------------------------ ingest


def store_alarm(session: Session, camera: Camera, envelope: Envelope, received_at: datetime,
                settings: CctvSettings) -> CctvAlarmRecord | None:
    """Record one verified alarm (None when this message id was stored before); never commits."""
    alarm = envelope.payload
    assert isinstance(alarm, CctvAlarm)
    if session.scalar(select(CctvAlarmRecord.id).where(CctvAlarmRecord.message_id == envelope.message_id)):
        return None
    purge_expired(session, received_at, settings)
    probe = base64.b64decode(alarm.probe_embedding)
    row = CctvAlarmRecord(
        message_id=envelope.message_id, alarm_id=alarm.alarm_id, camera_id=camera.id, seq=envelope.seq,
        track_id=alarm.track_id, entry_id=alarm.entry_id, list_name=alarm.list, template_id=alarm.template_id,
        score=alarm.score, threshold=alarm.threshold, target_fpir=alarm.target_fpir, gallery_size=alarm.gallery_size,
        details={
            "frame_scores": list(alarm.frame_scores), "candidates": [c.model_dump() for c in alarm.candidates],
            "frame": alarm.frame, "frames_seen": alarm.frames_seen, "faces_embedded": alarm.faces_embedded,
            "first_seen_ms": alarm.first_seen_ms, "last_seen_ms": alarm.last_seen_ms, "model": alarm.model,
            "face_list_version": alarm.face_watchlist_version, "track_frames": list(alarm.track_frames),
        },
        seen_at=from_ms(alarm.first_seen_ms), received_at=received_at, status="pending", probe_embedding=probe,
    )
    entry = session.get(WatchlistEntryRow, alarm.entry_id)
    if entry is None or not entry.active:
        row.status = "withdrawn"
    else:
        dismissal = _matching_dismissal(session, camera.id, alarm.entry_id, probe, received_at, settings)
        if dismissal is not None:
            row.status, row.suppressed_by = "suppressed", dismissal.id
    session.add(row)
    session.flush()
    images = [CctvAlarmImage(alarm_id=row.id, kind="snapshot", position=0, frame=alarm.frame, jpeg=alarm.snapshot_jpeg)
              ] if alarm.snapshot_jpeg else []
    images += [CctvAlarmImage(alarm_id=row.id, kind="face", position=i, jpeg=j) for i, j in enumerate(alarm.face_jpegs)]
    images += [CctvAlarmImage(alarm_id=row.id, kind="track", position=i, jpeg=j,
                              frame=alarm.track_frames[i] if i < len(alarm.track_frames) else None)
               for i, j in enumerate(alarm.track_jpegs)]
    session.add_all(images)
    camera.last_seq = max(camera.last_seq, envelope.seq)
    log.warning("camera %s: alarm %d (%s) entry %s score %.4f >= %.4f, %s", camera.id, row.id, alarm.alarm_id,
                alarm.entry_id, alarm.score, alarm.threshold, row.status)
    return row


def _matching_dismissal(session: Session, camera_id: str, entry_id: str, probe: bytes, now: datetime,
                        settings: CctvSettings) -> CctvDismissal | None:
    candidates = session.scalars(select(CctvDismissal).where(
        CctvDismissal.camera_id == camera_id, CctvDismissal.entry_id == entry_id, CctvDismissal.until > now,
        CctvDismissal.probe_embedding.is_not(None)))
    mine = _unit(_embedding(probe))  # type: ignore[arg-type]
    threshold = same_person_threshold(settings)
    for dismissal in candidates:
        theirs = _embedding(dismissal.probe_embedding)
        if theirs is not None and theirs.size == mine.size and float(_unit(theirs) @ mine) >= threshold:
            return dismissal
    return None


def purge_expired(session: Session, now: datetime, settings: CctvSettings) -> int:
    """Delete the pictures and probe template of unconfirmed alarms past retention, and the
    template of dismissals past their suppression; how many alarms were purged."""
    cutoff = now - timedelta(hours=settings.unconfirmed_retention_h)
    ids = list(session.scalars(select(CctvAlarmRecord.id).where(
        CctvAlarmRecord.status != "confirmed", CctvAlarmRecord.received_at < cutoff,
        CctvAlarmRecord.images_purged_at.is_(None))))
    if ids:
        session.execute(delete(CctvAlarmImage).where(CctvAlarmImage.alarm_id.in_(ids)))
        session.execute(update(CctvAlarmRecord).where(CctvAlarmRecord.id.in_(ids))
                        .values(probe_embedding=None, images_purged_at=now))
        log.info("retention: pictures of %d unconfirmed CCTV alarm(s) older than %.0f h deleted", len(ids),
                 settings.unconfirmed_retention_h)
    session.execute(update(CctvDismissal).where(CctvDismissal.until <= now, CctvDismissal.probe_embedding.is_not(None))
                    .values(probe_embedding=None))
    return len(ids)


# ------------------------------------------------------------------ the queue


@dataclass(frozen=True)
class AlarmQuery:
    statuses: tuple[str, ...] = ("pending",)
    camera: str | None = None
    limit: int = 50


def list_alarms(session: Session, query: AlarmQuery) -> list[CctvAlarmRecord]:
    """Newest first."""
    stmt = select(CctvAlarmRecord).where(CctvAlarmRecord.status.in_(query.statuses))
    if query.camera:
        stmt = stmt.where(CctvAlarmRecord.camera_id == query.camera)
    return list(session.scalars(stmt.order_by(CctvAlarmRecord.received_at.desc(), CctvAlarmRecord.id.desc())
                                .limit(query.limit)))


def get_alarm(session: Session, alarm_id: int, *, for_update: bool = False) -> CctvAlarmRecord:
    stmt = select(CctvAlarmRecord).where(CctvAlarmRecord.id == alarm_id)
    row = session.scalar(stmt.with_for_update() if for_update else stmt)
    if row is None:
        raise AlarmNotFound(f"no CCTV alarm {alarm_id}")
    return row


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def alarm_view(session: Session, row: CctvAlarmRecord) -> dict[str, Any]:
    """What the queue shows of an alarm: no picture, no template (see :func:`view_pictures`)."""
    entry = session.get(WatchlistEntryRow, row.entry_id)
    camera = session.get(Camera, row.camera_id)
    kinds = list(session.scalars(select(CctvAlarmImage.kind).where(CctvAlarmImage.alarm_id == row.id)))
    counts = {k: kinds.count(k) for k in ("snapshot", "face", "track")}
    return {
        "id": row.id, "alarm_id": row.alarm_id, "camera_id": row.camera_id,
        "camera_name": camera.name if camera else "", "camera_location": camera.location if camera else "",
        "track_id": row.track_id, "status": row.status, "score": row.score, "threshold": row.threshold,
        "target_fpir": row.target_fpir, "gallery_size": row.gallery_size,
        "entry": {
            "entry_id": row.entry_id, "list": row.list_name, "active": bool(entry and entry.active),
            "surname": entry.surname if entry else "", "given_names": entry.given_names if entry else "",
            "birth_date": entry.birth_date if entry else None, "nationality": entry.nationality if entry else None,
            "sex": entry.sex if entry else None, "document_numbers": list(entry.document_numbers or []) if entry else [],
            "agency": entry.agency if entry else "", "reason": entry.reason if entry else "",
        },
        "frame_scores": row.details.get("frame_scores", []), "candidates": row.details.get("candidates", []),
        "frames_seen": row.details.get("frames_seen"), "faces_embedded": row.details.get("faces_embedded"),
        "seen_at": _iso(row.seen_at), "received_at": _iso(row.received_at),
        "acknowledged_at": _iso(row.acknowledged_at), "acknowledged_by": row.acknowledged_by,
        "decided_at": _iso(row.decided_at), "decided_by": row.decided_by, "decision_note": row.decision_note,
        "case_id": row.case_id, "pictures": counts, "pictures_deleted_at": _iso(row.images_purged_at),
    }


def _data_url(jpeg: bytes | None) -> str | None:
    return None if not jpeg else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def view_pictures(session: Session, alarm_id: int, actor: audit.Actor, settings: CctvSettings,
                  now: datetime) -> dict[str, Any]:
    """The alarm's pictures beside the watchlist's faces of the entry, as data URLs; audited
    (``cctv_alarm_view``), purged first so nothing past retention is ever shown."""
    purge_expired(session, now, settings)
    row = get_alarm(session, alarm_id)
    images = session.scalars(select(CctvAlarmImage).where(CctvAlarmImage.alarm_id == row.id)
                             .order_by(CctvAlarmImage.kind, CctvAlarmImage.position)).all()
    references = session.scalars(select(FaceTemplateRow).where(
        FaceTemplateRow.entry_id == row.entry_id, FaceTemplateRow.reference_jpeg.is_not(None))).all()
    matched = sorted(references, key=lambda t: t.id != row.template_id)  # the matching photo first
    audit.record(session, actor, "cctv_alarm_view", f"cctv-alarm:{row.id}",
                 {"camera": row.camera_id, "entry": row.entry_id, "pictures": len(images),
                  "watchlist_faces": len(matched)})
    return {
        "id": row.id,
        "snapshot": next((_data_url(i.jpeg) for i in images if i.kind == "snapshot"), None),
        "faces": [_data_url(i.jpeg) for i in images if i.kind == "face"],
        "track": [{"frame": i.frame, "jpeg": _data_url(i.jpeg)} for i in images if i.kind == "track"],
        "watchlist_faces": [{"template_id": t.id, "matched": t.id == row.template_id, "jpeg": _data_url(t.reference_jpeg)}
                            for t in matched],
        "pictures_deleted_at": _iso(row.images_purged_at),
    }


# ------------------------------------------------------------------ the operator's decisions


def acknowledge(session: Session, alarm_id: int, actor: audit.Actor, now: datetime) -> CctvAlarmRecord:
    """The operator has seen it: the sound stops; the decision is still to come."""
    row = get_alarm(session, alarm_id, for_update=True)
    if row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by = now, actor.username
    audit.record(session, actor, "cctv_alarm_acknowledge", f"cctv-alarm:{row.id}", {"camera": row.camera_id})
    return row


@dataclass(frozen=True)
class Confirmation:
    alarm: CctvAlarmRecord
    case_id: int
    flag: PersonFlagRecord | None
    alert: Alert | None


def confirm(session: Session, alarm_id: int, actor: audit.Actor, *, now_ms: int, settings: CctvSettings,
            note: str = "", flag_gates: bool = False, flag_console: bool = True) -> Confirmation:
    """The operator judges the alarm a likely match: the it-05 case opens at step 3 (examine the
    passenger), and the person may be flagged to every gate and to the supervisors' console."""
    row = get_alarm(session, alarm_id, for_update=True)
    if row.status != "pending":
        raise AlarmDecisionRefused(f"alarm {alarm_id} is {row.status}, not pending")
    entry = session.get(WatchlistEntryRow, row.entry_id)
    if entry is None or not entry.active:
        raise AlarmDecisionRefused(f"watchlist entry {row.entry_id} is no longer listed")
    camera = session.get(Camera, row.camera_id)
    now = from_ms(now_ms)
    name = " ".join(p for p in (entry.given_names, entry.surname) if p) or entry.entry_id
    context = {
        "source": "cctv",
        "reason_text": f"CCTV face-recognition alarm on camera {row.camera_id}: {name} ({entry.list_name}), "
                       f"score {row.score:.3f} against threshold {row.threshold:.3f}",
        "cctv": {"alarm": row.id, "camera_id": row.camera_id, "camera_name": camera.name if camera else "",
                 "location": camera.location if camera else "", "score": row.score, "threshold": row.threshold,
                 "seen_at": _iso(row.seen_at), "confirmed_by": actor.username, "note": note[:500]},
        "watchlist": {"entry_id": entry.entry_id, "list": entry.list_name, "agency": entry.agency,
                      "interested_party": entry.interested_party, "reason": entry.reason, "name": name},
    }
    case = cases.open_case(session, IT05, now_ms=now_ms, actor=actor, context=context,
                           source_message_id=row.message_id)
    row.status, row.decided_at, row.decided_by, row.decision_note = "confirmed", now, actor.username, note[:2000]
    row.case_id = case.id
    if row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by = now, actor.username
    flag = None
    if flag_gates:
        flag = PersonFlagRecord(id=uuid.uuid4().hex, alarm_id=row.id, entry_id=entry.entry_id,
                                list_name=entry.list_name, camera_id=row.camera_id, case_id=case.id,
                                raised_by=actor.username or "unknown", raised_at=now,
                                expires_at=now + timedelta(hours=settings.flag_hours))
        session.add(flag)
    alert = None
    if flag_console:
        where = f"{camera.name or camera.id} ({camera.location})" if camera and camera.location else row.camera_id
        alert = Alert(gate_id=None, kind="cctv_confirmed", severity="critical", requires_ack=True, created_at=now,
                      message=f"CCTV {where}: {name} ({entry.list_name}) confirmed by {actor.username}; "
                              f"it-05 case {case.id}",
                      details={"camera_id": row.camera_id, "alarm_id": row.id, "entry_id": entry.entry_id,
                               "list": entry.list_name, "case_id": case.id, "score": row.score,
                               "flagged_to_gates": flag is not None},
                      source_message_id=row.message_id)
        session.add(alert)
    session.flush()
    audit.record(session, actor, "cctv_alarm_confirm", f"cctv-alarm:{row.id}", {
        "camera": row.camera_id, "entry": entry.entry_id, "case": case.id, "flag_gates": flag is not None,
        "flag_console": alert is not None, "note": note[:500]})
    log.warning("CCTV alarm %d confirmed by %s: it-05 case %d%s", row.id, actor.username, case.id,
                ", flagged to every gate" if flag else "")
    return Confirmation(row, case.id, flag, alert)


def dismiss(session: Session, alarm_id: int, actor: audit.Actor, *, now: datetime, settings: CctvSettings,
            reason: str = "") -> CctvAlarmRecord:
    """"Not this person": stored, and the same person and entry on this camera stay silent for
    ``dismissal_suppression_h``."""
    row = get_alarm(session, alarm_id, for_update=True)
    if row.status != "pending":
        raise AlarmDecisionRefused(f"alarm {alarm_id} is {row.status}, not pending")
    row.status, row.decided_at, row.decided_by, row.decision_note = "dismissed", now, actor.username, reason[:2000]
    if row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by = now, actor.username
    until = now + timedelta(hours=settings.dismissal_suppression_h)
    session.add(CctvDismissal(alarm_id=row.id, camera_id=row.camera_id, entry_id=row.entry_id,
                              probe_embedding=row.probe_embedding if settings.dismissal_suppression_h > 0 else None,
                              dismissed_by=actor.username or "unknown", dismissed_at=now, until=until,
                              reason=reason[:2000]))
    audit.record(session, actor, "cctv_alarm_dismiss", f"cctv-alarm:{row.id}", {
        "camera": row.camera_id, "entry": row.entry_id, "suppressed_until": until.isoformat(), "reason": reason[:500]})
    return row
