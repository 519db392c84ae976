"""Publishing the face list to camera nodes, the way the gate watchlist goes to gates.

Order on the wire, so a camera that reacts to the notice finds the data there:

1. the snapshot in retained chunks on ``cctv/watchlist/snapshot/{version}/{index}``, each
   carrying the SHA-256 of the whole canonical snapshot;
2. the delta from the previous version on ``cctv/watchlist/delta/{version}``, when it fits one
   message (a large import does not: cameras assemble the snapshot);
3. the retained notice (a ``WatchlistVersionNotice`` on ``cctv/watchlist/notice``);
4. the retained topics of older versions cleared (an empty retained message), so the broker
   holds one version.

Also the person flags: the whole set in force, retained on ``cctv/flags`` for every gate. All
sealed by central. The transport is a ``publish(topic, payload, retain)`` callable, as for the
gate watchlist (``central.watchlists.publisher.paho_publisher`` adapts a paho client).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.cctv import faces
from central.cctv.models import FaceListVersion, PersonFlagRecord
from central.models import as_utc, from_ms
from edge.cctv.facelist import FaceListSnapshot
from protocol.cctv import (
    FACE_LIST_NOTICE,
    PERSON_FLAGS,
    FaceListChunk,
    FaceListDelta,
    PersonFlag,
    PersonFlags,
    face_delta_topic,
    face_snapshot_topic,
    seal_cctv,
)
from protocol.envelope import CENTRAL_SENDER, MAX_MESSAGE_BYTES, seal
from protocol.errors import MalformedMessage
from protocol.keys import KeyPair
from protocol.messages import WatchlistVersionNotice

log = logging.getLogger(__name__)

PublishFn = Callable[[str, bytes, bool], None]
ENVELOPE_OVERHEAD_BYTES = 2048
DEFAULT_CHUNK_BUDGET_BYTES = MAX_MESSAGE_BYTES - ENVELOPE_OVERHEAD_BYTES


@dataclass(frozen=True)
class Publication:
    version: int
    sha256: str
    templates: int
    chunks: int
    delta_sent: bool
    cleared_versions: tuple[int, ...]


def chunk_snapshot(snapshot: FaceListSnapshot, sha256: str, *,
                   budget_bytes: int = DEFAULT_CHUNK_BUDGET_BYTES) -> list[FaceListChunk]:
    """Cut *snapshot* into chunks of at most *budget_bytes* of template JSON each, in canonical
    order; an empty list is one empty chunk, so "version N is empty" is sayable."""
    groups: list[list] = [[]]
    used = 0
    for template in snapshot.templates:
        size = len(json.dumps(template.model_dump(mode="json"), separators=(",", ":"))) + 1
        if used + size > budget_bytes and groups[-1]:
            groups.append([])
            used = 0
        groups[-1].append(template)
        used += size
    return [FaceListChunk(version=snapshot.version, index=i, count=len(groups),
                          total_templates=len(snapshot.templates), model=snapshot.model, sha256=sha256,
                          templates=tuple(group)) for i, group in enumerate(groups)]


def publish_current(session: Session, *, key: KeyPair, publish: PublishFn, now_ms: int, model: str,
                    budget_bytes: int = DEFAULT_CHUNK_BUDGET_BYTES) -> Publication:
    """Publish the newest face list version and clear older retained data; records the
    publication on the version row (the caller commits). Raises what *publish* raises."""
    snapshot = faces.current_snapshot(session, model=model)
    version = snapshot.version
    sha256 = snapshot.sha256()
    chunks = chunk_snapshot(snapshot, sha256, budget_bytes=budget_bytes)
    for chunk in chunks:
        publish(face_snapshot_topic(version, chunk.index),
                seal_cctv(chunk, sender=CENTRAL_SENDER, key=key, seq=version, now_ms=now_ms), True)
    delta_sent = False
    if version >= 1:
        added, removed = faces.delta_records(session, version, model=model)
        delta = FaceListDelta(base_version=version - 1, version=version, total_templates=len(snapshot.templates),
                              model=model, sha256=sha256, added=added, removed=removed)
        try:
            data = seal_cctv(delta, sender=CENTRAL_SENDER, key=key, seq=version, now_ms=now_ms)
        except MalformedMessage:
            log.info("face list delta %d->%d too large for one message; cameras use the snapshot", version - 1, version)
        else:
            publish(face_delta_topic(version), data, True)
            delta_sent = True
    notice = WatchlistVersionNotice(version=version, entries=len(snapshot.templates), sha256=sha256,
                                    published_at_ms=now_ms, base_version=version - 1 if delta_sent else None)
    publish(FACE_LIST_NOTICE, seal(notice, sender=CENTRAL_SENDER, key=key, seq=version, now_ms=now_ms), True)
    cleared = _clear_older(session, version, publish)
    row = session.get(FaceListVersion, version)
    if row is not None:
        row.published_at = from_ms(now_ms)
        row.chunk_count = len(chunks)
        row.retained_cleared = False
    session.flush()
    log.info("face list version %d published: %d templates, %d chunk(s), delta %s, cleared %s", version,
             len(snapshot.templates), len(chunks), "yes" if delta_sent else "no", list(cleared) or "none")
    return Publication(version, sha256, len(snapshot.templates), len(chunks), delta_sent, cleared)


def _clear_older(session: Session, version: int, publish: PublishFn) -> tuple[int, ...]:
    old = session.scalars(select(FaceListVersion).where(
        FaceListVersion.version != version, FaceListVersion.published_at.is_not(None),
        FaceListVersion.retained_cleared.is_(False)))
    cleared = []
    for row in old:
        for index in range(row.chunk_count or 0):
            publish(face_snapshot_topic(row.version, index), b"", True)
        publish(face_delta_topic(row.version), b"", True)
        row.retained_cleared = True
        cleared.append(row.version)
    return tuple(sorted(cleared))


def needs_publication(session: Session) -> bool:
    """True when the newest version was never published."""
    row = session.get(FaceListVersion, faces.current_version(session))
    return row is not None and row.published_at is None


def active_flags(session: Session, now: datetime) -> list[PersonFlagRecord]:
    return list(session.scalars(select(PersonFlagRecord).where(
        PersonFlagRecord.withdrawn_at.is_(None), PersonFlagRecord.expires_at > now).order_by(PersonFlagRecord.raised_at)))


def publish_flags(session: Session, *, key: KeyPair, publish: PublishFn, now_ms: int) -> int:
    """The person flags in force, as one retained message every gate reads; how many."""
    rows = active_flags(session, from_ms(now_ms))
    flags = tuple(PersonFlag(
        flag_id=r.id, entry_id=r.entry_id, list=r.list_name, camera_id=r.camera_id, raised_by=r.raised_by,
        raised_at_ms=int(as_utc(r.raised_at).timestamp() * 1000),  # type: ignore[union-attr]
        expires_at_ms=int(as_utc(r.expires_at).timestamp() * 1000),  # type: ignore[union-attr]
        case_id=r.case_id) for r in rows[-200:])  # the newest 200 fit one message
    publish(PERSON_FLAGS, seal_cctv(PersonFlags(flags=flags, published_at_ms=now_ms), sender=CENTRAL_SENDER, key=key,
                                    seq=0, now_ms=now_ms), True)
    return len(flags)
