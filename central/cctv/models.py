"""CCTV tables on central's ``Base``: cameras, the face watchlist, alarms and what officers did.

Biometric minimisation (docs/cctv.md): a face template is kept for as long as its watchlist entry
is; the enrolment photo only when ``cctv.keep_enrolment_photos`` says so; the face crop operators
compare with (``reference_jpeg``) unless ``cctv.keep_reference_faces`` is off. An alarm's pictures
and its probe template live in ``cctv_alarm_images`` and on the alarm row until the retention
purge removes them from every alarm that was not confirmed; the alarm row itself (who, when,
which entry, the score, the decision) stays, as the audit trail needs it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.models import Base, Json, utcnow


class Camera(Base):
    """One CCTV camera node, its verifying key and the latest heartbeat it sent."""

    __tablename__ = "cctv_cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(200), default="")  # e.g. "departure hall, row C"
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw Ed25519 key
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen_at: Mapped[datetime | None]
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    online_changed_at: Mapped[datetime | None]
    health_sent_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    health: Mapped[Json | None]
    face_list_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceTemplateRow(Base):
    """One enrolled photo of a watchlist entry, as the template the cameras search with."""

    __tablename__ = "face_templates"
    __table_args__ = (Index("ix_face_templates_entry_active", "entry_id", "active"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the template id cameras report
    entry_id: Mapped[str] = mapped_column(ForeignKey("watchlist_entries.entry_id"))
    model: Mapped[str] = mapped_column(String(96))  # embedder name@version
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32
    quality: Mapped[Json]  # the face engine's measures and reasons at enrolment
    quality_override: Mapped[bool] = mapped_column(Boolean, default=False)  # enrolled despite reasons
    reference_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)  # face crop the operator compares
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)  # the upload, only if the setting keeps it
    photo_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: removed by an officer
    in_list: Mapped[bool] = mapped_column(Boolean, default=False)  # in the newest face list version
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(64))


class FaceListVersion(Base):
    """One published state of the face list. Version 0 is the empty list and has no row."""

    __tablename__ = "face_list_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    templates: Mapped[int] = mapped_column(Integer, default=0)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(96), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    chunk_count: Mapped[int | None]
    retained_cleared: Mapped[bool] = mapped_column(Boolean, default=False)


class FaceListChange(Base):
    """One template added to or removed from the face list by one version (the delta's source)."""

    __tablename__ = "face_list_changes"
    __table_args__ = (Index("ix_face_list_changes_version", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(ForeignKey("face_list_versions.version"))
    template_id: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(8))  # add / remove


class CctvAlarmRecord(Base):
    """One alarm a camera raised, and what the operator did with it (SOP it-05 steps 2-3)."""

    __tablename__ = "cctv_alarms"
    __table_args__ = (Index("ix_cctv_alarms_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)  # a redelivery is stored once
    alarm_id: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str] = mapped_column(ForeignKey("cctv_cameras.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    track_id: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    list_name: Mapped[str] = mapped_column(String(32))
    template_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    target_fpir: Mapped[float | None] = mapped_column(Float)
    gallery_size: Mapped[int] = mapped_column(Integer)
    details: Mapped[Json]  # frame scores, candidates, frames, model, face list version (no images)
    seen_at: Mapped[datetime]  # when the camera first saw the track
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending -> confirmed / dismissed; suppressed (a dismissed pairing), withdrawn (entry delisted)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    suppressed_by: Mapped[int | None] = mapped_column(Integer)  # the dismissal that silenced it
    probe_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    images_purged_at: Mapped[datetime | None]


class CctvAlarmImage(Base):
    """One picture of an alarm: the scene, a face crop, or a frame of the track."""

    __tablename__ = "cctv_alarm_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("cctv_alarms.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # snapshot / face / track
    position: Mapped[int] = mapped_column(Integer, default=0)
    frame: Mapped[int | None]
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class CctvDismissal(Base):
    """"Not this person": silences alarms for the same person and entry on one camera until ``until``."""

    __tablename__ = "cctv_dismissals"
    __table_args__ = (Index("ix_cctv_dismissals_pairing", "camera_id", "entry_id", "until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("cctv_alarms.id"), unique=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[str] = mapped_column(String(64))
    # The dismissed person's template, to know them again; wiped with the alarm's pictures.
    probe_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    dismissed_by: Mapped[str] = mapped_column(String(64))
    dismissed_at: Mapped[datetime]
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


class PersonFlagRecord(Base):
    """A confirmed person flagged to every gate (a similar watchlist hit on the entry holds)."""

    __tablename__ = "cctv_person_flags"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("cctv_alarms.id"), index=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    list_name: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None]
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
