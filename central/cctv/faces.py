"""The face watchlist at central: photos enrolled onto watchlist entries, and the versioned list.

An authorised officer attaches photos to a watchlist entry (upload, or ``autogate watchlist faces
import DIR``). Each photo is checked with the face engine the cameras run (one face, and its
quality reasons; a photo with reasons is refused unless the officer overrides them, which is
recorded), and becomes a template. The photo itself is dropped unless ``keep_enrolment_photos``;
a face crop is kept for the operator to compare alarms with unless ``keep_reference_faces`` is off.

The face list cameras run is the active templates of active watchlist entries, made by the
configured embedder. :func:`commit_version` turns any difference between that and the newest
version into one new version with its change log (the delta's source) and an audit entry; an
entry deactivated on the watchlist leaves the face list at the next commit (after every face
change, by the CCTV monitor, and before every publication). Nothing here commits: the caller does.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.cctv.errors import PhotoRejected
from central.cctv.models import FaceListChange, FaceListVersion, FaceTemplateRow
from central.models import as_utc, utcnow
from central.services import audit
from central.settings import CctvSettings
from central.watchlists.errors import EntryNotFound, VersionConflict
from central.watchlists.models import WatchlistEntryRow
from edge.cctv.facelist import FaceListSnapshot, encode_embedding
from protocol.cctv import FaceTemplateRecord

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# A second face at least this large (area, against the largest) makes the photo ambiguous.
SECOND_FACE_AREA = 0.35


def model_tag_for(settings: CctvSettings) -> str:
    """The embedder tag (name@version) the face list is made with, read from its manifest."""
    from edge import modelstore
    from edge.face.types import model_tag

    manifest = modelstore.find_manifest(settings.face_embedder)
    return model_tag(manifest.name, manifest.version)


# ------------------------------------------------------------------ enrolment


def decode_photo(data: bytes) -> np.ndarray:
    if not data:
        raise PhotoRejected("empty file")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(f"photo over {MAX_PHOTO_BYTES // (1024 * 1024)} MiB")
    from edge.imageload import ImageLimits, ImageRefused, decode_image

    # Refused by its header before decoding: a 60,000 x 60,000 PNG of 437 KB made cv2 raise.
    limits = ImageLimits(max_pixels=MAX_PHOTO_PIXELS, max_file_bytes=MAX_PHOTO_BYTES)
    try:
        return decode_image(data, limits=limits)
    except ImageRefused as exc:
        if exc.reason == "too_large":
            raise PhotoRejected(f"photo too large: {exc}") from exc
        raise PhotoRejected(f"not an image that can be read (JPEG, PNG, BMP, WebP, TIFF): {exc}") from exc


def _reference_crop(image: np.ndarray, box: tuple[float, float, float, float]) -> bytes:
    from edge.cctv.evidence import crop

    part = crop(image, box, margin=0.35, max_side_px=200)
    ok, data = cv2.imencode(".jpg", part, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return data.tobytes() if ok else b""


def enrol_photo(session: Session, engine: Any, entry_id: str, data: bytes, actor: audit.Actor, *,
                settings: CctvSettings, source: str = "upload", allow_quality: bool = False) -> FaceTemplateRow:
    """One photo onto *entry_id*: checked, embedded, stored (photo per the settings), audited.
    ``PhotoRejected`` says why a photo gives no template. Does not make a new version."""
    entry = session.get(WatchlistEntryRow, entry_id)
    if entry is None or not entry.active:
        raise EntryNotFound(f"no active watchlist entry {entry_id!r}")
    digest = hashlib.sha256(data).hexdigest()
    image = decode_photo(data)
    faces = sorted(engine.detect(image), key=lambda f: -f.area)
    if not faces:
        raise PhotoRejected("no face found in the photo", ("no_face",))
    if len(faces) > 1 and faces[1].area >= SECOND_FACE_AREA * faces[0].area:
        raise PhotoRejected(f"{len(faces)} faces in the photo: crop it to the listed person", ("several_faces",))
    template = engine.template_of(image, faces[0])
    reasons = tuple(template.quality.reasons)
    if reasons and not allow_quality:
        raise PhotoRejected("photo quality: " + ", ".join(reasons), reasons)
    duplicate = session.scalar(select(FaceTemplateRow.id).where(
        FaceTemplateRow.entry_id == entry_id, FaceTemplateRow.photo_sha256 == digest, FaceTemplateRow.active.is_(True)))
    if duplicate is not None:
        raise PhotoRejected(f"this photo is already enrolled on {entry_id} (template {duplicate})", ("duplicate",))
    row = FaceTemplateRow(
        id=uuid.uuid4().hex, entry_id=entry_id, model=engine.model_tag,
        embedding=np.asarray(template.embedding, dtype="<f4").tobytes(), quality=template.quality.as_dict(),
        quality_override=bool(reasons), photo_sha256=digest, source=source[:200],
        reference_jpeg=_reference_crop(image, faces[0].box) if settings.keep_reference_faces else None,
        photo=data if settings.keep_enrolment_photos else None,
        active=True, in_list=False, created_at=utcnow(), created_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "face_enrol", f"watchlist:{entry_id}", {
        "template": row.id, "source": row.source, "quality_reasons": list(reasons), "override": bool(reasons),
        "photo_kept": row.photo is not None,
    })
    log.info("face template %s enrolled on %s by %s%s", row.id, entry_id, actor.username,
             f" despite {', '.join(reasons)}" if reasons else "")
    return row


def remove_template(session: Session, template_id: str, actor: audit.Actor, reason: str = "") -> FaceTemplateRow:
    """Take one photo off its entry (the row stays, without its pictures); audited."""
    row = session.get(FaceTemplateRow, template_id)
    if row is None or not row.active:
        raise EntryNotFound(f"no active face template {template_id!r}")
    row.active = False
    row.removed_at, row.removed_by = utcnow(), actor.username
    row.photo = None
    row.reference_jpeg = None
    audit.record(session, actor, "face_remove", f"watchlist:{row.entry_id}", {"template": template_id,
                                                                            "reason": reason[:500]})
    return row


@dataclass
class ImportReport:
    """What ``import_folder`` did: templates enrolled, and each photo or folder it refused."""

    enrolled: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    version: int | None = None


def import_folder(session: Session, engine: Any, folder: Path, actor: audit.Actor, *, settings: CctvSettings,
                  allow_quality: bool = False) -> ImportReport:
    """Every photo in ``folder/<entry id>/``; a bad photo is reported and the rest go on. One new
    face list version for the whole import."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    report = ImportReport()
    for entry_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        photos = sorted(p for p in entry_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not photos:
            report.problems.append((str(entry_dir), "no photo in the folder"))
            continue
        for photo in photos:
            try:
                with session.begin_nested():
                    row = enrol_photo(session, engine, entry_dir.name, photo.read_bytes(), actor, settings=settings,
                                      source=f"{entry_dir.name}/{photo.name}", allow_quality=allow_quality)
                report.enrolled.append(row.id)
            except (PhotoRejected, EntryNotFound, OSError) as exc:
                report.problems.append((str(photo), str(exc)))
    audit.record(session, actor, "face_import", f"faces-import:{folder.name}"[:200],
                 {"enrolled": len(report.enrolled), "refused": len(report.problems)})
    report.version = commit_version(session, actor, f"import {folder.name}: {len(report.enrolled)} photos",
                                    settings=settings)
    return report


# ------------------------------------------------------------------ the versioned list


def current_version(session: Session) -> int:
    return session.scalar(select(func.max(FaceListVersion.version))) or 0


def _wanted(session: Session, model: str) -> Iterable[FaceTemplateRow]:
    return session.scalars(
        select(FaceTemplateRow)
        .join(WatchlistEntryRow, WatchlistEntryRow.entry_id == FaceTemplateRow.entry_id)
        .where(FaceTemplateRow.active.is_(True), WatchlistEntryRow.active.is_(True), FaceTemplateRow.model == model)
    )


def record_of(row: FaceTemplateRow, list_name: str) -> FaceTemplateRecord:
    return FaceTemplateRecord(template_id=row.id, entry_id=row.entry_id, list=list_name,
                              embedding=encode_embedding(np.frombuffer(row.embedding, dtype="<f4")))


def current_snapshot(session: Session, *, model: str) -> FaceListSnapshot:
    """The newest version's list (the templates marked ``in_list``)."""
    rows = session.execute(
        select(FaceTemplateRow, WatchlistEntryRow.list_name)
        .join(WatchlistEntryRow, WatchlistEntryRow.entry_id == FaceTemplateRow.entry_id)
        .where(FaceTemplateRow.in_list.is_(True))
    ).all()
    return FaceListSnapshot(version=current_version(session), model=model,
                            templates=tuple(record_of(row, list_name) for row, list_name in rows))


def commit_version(session: Session, actor: audit.Actor, summary: str, *, settings: CctvSettings,
                   model: str | None = None) -> int | None:
    """Make the newest version match what cameras should run now; the new version, or None when
    nothing differs. Entries delisted on the watchlist leave the face list here."""
    model = model or model_tag_for(settings)
    wanted = {row.id: row for row in _wanted(session, model)}
    listed = {row.id: row for row in session.scalars(select(FaceTemplateRow).where(FaceTemplateRow.in_list.is_(True)))}
    added = sorted(set(wanted) - set(listed))
    removed = sorted(set(listed) - set(wanted))
    if not added and not removed:
        return None
    version = current_version(session) + 1
    for template_id in added:
        wanted[template_id].in_list = True
    for template_id in removed:
        listed[template_id].in_list = False
    session.flush()
    snapshot = current_snapshot(session, model=model).model_copy(update={"version": version})
    session.add(FaceListVersion(
        version=version, created_at=utcnow(), created_by=actor.username, summary=summary[:2000],
        templates=len(snapshot.templates), entries=snapshot.entries, model=model, sha256=snapshot.sha256(),
    ))
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise VersionConflict(f"face list version {version} was taken by a concurrent change; retry") from exc
    session.add_all([FaceListChange(version=version, template_id=t, op="add") for t in added]
                    + [FaceListChange(version=version, template_id=t, op="remove") for t in removed])
    session.flush()
    audit.record(session, actor, "face_list_version", f"face-list:{version}",
                 {"added": len(added), "removed": len(removed), "templates": len(snapshot.templates),
                  "summary": summary[:200]})
    log.info("face list version %d by %s: +%d -%d, %d templates of %d entries (%s)", version, actor.username,
             len(added), len(removed), len(snapshot.templates), snapshot.entries, summary)
    return version


def delta_records(session: Session, version: int, *, model: str) -> tuple[tuple[FaceTemplateRecord, ...], tuple[str, ...]]:
    """(added templates, removed template ids) of *version* against version - 1."""
    changes = session.scalars(select(FaceListChange).where(FaceListChange.version == version)).all()
    added_ids = [c.template_id for c in changes if c.op == "add"]
    removed = tuple(sorted(c.template_id for c in changes if c.op == "remove"))
    rows = session.execute(
        select(FaceTemplateRow, WatchlistEntryRow.list_name)
        .join(WatchlistEntryRow, WatchlistEntryRow.entry_id == FaceTemplateRow.entry_id)
        .where(FaceTemplateRow.id.in_(added_ids))
    ).all() if added_ids else []
    return tuple(sorted((record_of(r, n) for r, n in rows), key=lambda t: t.template_id)), removed


# ------------------------------------------------------------------ views


def templates_of(session: Session, entry_id: str) -> list[FaceTemplateRow]:
    return list(session.scalars(select(FaceTemplateRow).where(
        FaceTemplateRow.entry_id == entry_id, FaceTemplateRow.active.is_(True)).order_by(FaceTemplateRow.created_at)))


def template_view(row: FaceTemplateRow) -> dict[str, Any]:
    """Metadata only: no picture, no template (those are biometric; see ``reference_face``)."""
    created = as_utc(row.created_at)
    return {
        "template_id": row.id, "entry_id": row.entry_id, "model": row.model, "source": row.source,
        "quality": row.quality, "quality_override": row.quality_override, "in_list": row.in_list,
        "has_reference_face": row.reference_jpeg is not None, "photo_kept": row.photo is not None,
        "created_at": created.isoformat() if created else None, "created_by": row.created_by,
    }


def version_view(row: FaceListVersion) -> dict[str, Any]:
    created, published = as_utc(row.created_at), as_utc(row.published_at)
    return {"version": row.version, "created_at": created.isoformat() if created else None,
            "created_by": row.created_by, "summary": row.summary, "templates": row.templates, "entries": row.entries,
            "model": row.model, "sha256": row.sha256, "published_at": published.isoformat() if published else None,
            "chunk_count": row.chunk_count}


def list_versions(session: Session, limit: int = 50) -> list[FaceListVersion]:
    return list(session.scalars(select(FaceListVersion).order_by(FaceListVersion.version.desc()).limit(limit)))
