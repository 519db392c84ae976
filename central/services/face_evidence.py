"""Face evidence for the supervisor console: the captured face beside the enrolled one.

Reading it is an officer action on biometric data, so every view is audited; expired rows are
purged before any read, so nothing past its retention is ever shown.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import NotFound
from central.ingest.store import purge_face_evidence
from central.models import FaceEvidenceRecord, as_utc, utcnow
from central.services import audit


def _data_url(jpeg: bytes | None) -> str | None:
    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def view_faces(session: Session, gate_id: str, transaction_id: str, actor: audit.Actor) -> dict[str, Any]:
    """The latest evidence of one transaction, as data URLs; NotFound when there is none (the
    face step passed, was simulated, or the evidence expired)."""
    purge_face_evidence(session, utcnow())
    row = session.scalars(
        select(FaceEvidenceRecord)
        .where(FaceEvidenceRecord.gate_id == gate_id, FaceEvidenceRecord.transaction_id == transaction_id)
        .order_by(FaceEvidenceRecord.id.desc())
        .limit(1)
    ).first()
    if row is None:
        session.commit()  # the purge
        raise NotFound(f"no face images for transaction {transaction_id[:64]!r} (the face step did not fail, or they expired)")
    audit.record(session, actor, "face_view", f"gate:{gate_id}", {"transaction_id": transaction_id})
    session.commit()
    return {
        "captured": _data_url(row.captured_jpeg),
        "enrolled": _data_url(row.enrolled_jpeg),
        "enrolled_source": row.enrolled_source,
        "score": row.score,
        "threshold": row.threshold,
        "refused_reason": row.refused_reason,
        "received_at": as_utc(row.received_at).isoformat(),
        "expires_at": as_utc(row.expires_at).isoformat(),
    }
