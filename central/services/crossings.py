"""Crossing (perlintasan) search for officers and the console."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from central.models import Crossing, as_utc
from central.timefmt import WIB
from central.security.limits import Day, Offset


class CrossingQuery(BaseModel):
    """Search filters, from the query string; all optional and combined with AND."""

    model_config = ConfigDict(extra="forbid")

    document_number: Annotated[str, Field(max_length=20)] | None = None
    name: Annotated[str, Field(min_length=2, max_length=80)] | None = None
    gate: Annotated[str, Field(max_length=64)] | None = None
    date_from: Day | None = None
    date_to: Day | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Offset = 0


def search(session: Session, query: CrossingQuery) -> list[Crossing]:
    stmt = select(Crossing)
    if query.document_number:
        stmt = stmt.where(Crossing.document_number == query.document_number.upper())
    if query.name:
        pattern = f"%{query.name.upper()}%"
        stmt = stmt.where(or_(func.upper(Crossing.surname).like(pattern), func.upper(Crossing.given_names).like(pattern)))
    if query.gate:
        stmt = stmt.where(Crossing.gate_id == query.gate)
    # Days are Soekarno-Hatta's (WIB), as officers name them; the bounds go to the database in UTC
    # (SQLite keeps no zone, so an aware bound would be compared as if it were UTC).
    if query.date_from:
        start = datetime.combine(query.date_from, time.min, WIB).astimezone(UTC)
        stmt = stmt.where(Crossing.completed_at >= start)
    if query.date_to:
        end = datetime.combine(query.date_to + timedelta(days=1), time.min, WIB).astimezone(UTC)
        stmt = stmt.where(Crossing.completed_at < end)
    stmt = stmt.order_by(Crossing.completed_at.desc(), Crossing.id.desc()).limit(query.limit).offset(query.offset)
    return list(session.scalars(stmt))


def crossing_view(crossing: Crossing) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        value = as_utc(value)
        return value.isoformat() if value else None

    return {
        "id": crossing.id,
        "transaction_id": crossing.transaction_id,
        "gate_id": crossing.gate_id,
        "direction": crossing.direction,
        "document_number": crossing.document_number,
        "document_type": crossing.document_type,
        "issuing_state": crossing.issuing_state,
        "expiry_date": crossing.expiry_date.isoformat() if crossing.expiry_date else None,
        "given_names": crossing.given_names,
        "surname": crossing.surname,
        "sex": crossing.sex,
        "birth_date": crossing.birth_date.isoformat() if crossing.birth_date else None,
        "nationality": crossing.nationality,
        "fingerprint_match": crossing.fingerprint_match,
        "face_match": crossing.face_match,
        "timings_ms": crossing.timings_ms,
        "started_at": iso(crossing.started_at),
        "completed_at": iso(crossing.completed_at),
    }
