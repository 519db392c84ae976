"""Create, import, deactivate and look up enrolments. The caller commits.

Every change writes its audit entry in the same session. Templates are validated before they
are stored: a face template must be finite float32 values of unit length (the model's dimension), a fingerprint
record must parse as ISO/IEC 19794-2:2005. Creating an enrolment for a key that already has an
active one replaces it (a re-issued passport keeps its number only in corrections).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.enrolments.errors import EnrolmentNotFound, EnrolmentRejected
from central.enrolments.models import Enrolment
from central.errors import ImportRejected
from central.models import as_utc, utcnow
from central.services import audit
from edge.gate.enrolment_wire import FACE_DIMS, face_dim_ok, normalise_document_number

log = logging.getLogger(__name__)

MAX_FINGERPRINT_BYTES = 2 + 24 + 4 + 255 * 6 + 2  # one view of at most 255 minutiae, with slack
_UNIT_TOLERANCE = 1e-3


def _b64(value: str | None) -> bytes | None:
    if value is None or value == "":
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc


class EnrolmentIn(BaseModel):
    """One enrolment as the issuance workflow or an import file gives it (templates in base64)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    document_number: Annotated[str, Field(min_length=1, max_length=20)]
    document_type: Annotated[str, Field(min_length=1, max_length=2)] = "P"
    issuing_state: Annotated[str, Field(min_length=1, max_length=3)]
    expiry_date: date | None = None
    given_names: Annotated[str, Field(max_length=80)] = ""
    surname: Annotated[str, Field(max_length=80)] = ""
    sex: Literal["M", "F", "X"] = "X"
    birth_date: date | None = None
    nationality: Annotated[str, Field(min_length=1, max_length=3)]
    face_template: str | None = None
    face_model: Annotated[str, Field(max_length=64)] | None = None
    face_model_version: Annotated[str, Field(max_length=32)] | None = None
    fingerprint_iso: str | None = None
    finger_position: Annotated[int, Field(ge=0, le=10)] | None = None

    @field_validator("document_number")
    @classmethod
    def _normalise(cls, value: str) -> str:
        value = normalise_document_number(value)
        if not value.isalnum():
            raise ValueError("letters and digits only")
        return value

    @field_validator("issuing_state", "nationality", "document_type", "given_names", "surname")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("face_template")
    @classmethod
    def _face(cls, value: str | None) -> str | None:
        raw = _b64(value)
        if raw is None:
            return None
        if not face_dim_ok(len(raw)):
            raise ValueError(f"must be {FACE_DIMS.start}-{FACE_DIMS.stop - 1} float32 values, got {len(raw)} bytes")
        vector = np.frombuffer(raw, dtype="<f4")
        if not np.all(np.isfinite(vector)) or abs(float(np.linalg.norm(vector)) - 1.0) > _UNIT_TOLERANCE:
            raise ValueError("must be a finite unit-length vector")
        return value

    @field_validator("fingerprint_iso")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        from edge.fingerprint.errors import TemplateFormatError
        from edge.fingerprint.iso19794 import from_iso

        raw = _b64(value)
        if raw is None:
            return None
        if len(raw) > MAX_FINGERPRINT_BYTES:
            raise ValueError(f"record of {len(raw)} bytes is too long")
        try:
            from_iso(raw)
        except TemplateFormatError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _needs_a_template(self) -> EnrolmentIn:
        if self.face_template is None and self.fingerprint_iso is None:
            raise ValueError("needs a face template or a fingerprint record (or both)")
        if self.face_template is not None and not self.face_model:
            raise ValueError("face_model is required with a face template (templates of two models never compare)")
        return self


def parse(data: Any) -> EnrolmentIn:
    """Validate one enrolment; EnrolmentRejected names the first bad field."""
    try:
        return EnrolmentIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "enrolment"
        raise EnrolmentRejected(where, str(first.get("msg"))) from exc


def _active(session: Session, document_number: str, issuing_state: str | None) -> list[Enrolment]:
    query = select(Enrolment).where(Enrolment.document_number == document_number, Enrolment.active.is_(True))
    if issuing_state:
        query = query.where(Enrolment.issuing_state == issuing_state.upper())
    return list(session.scalars(query.order_by(Enrolment.id)))


def _wipe(row: Enrolment, actor: audit.Actor, reason: str) -> None:
    # Minimisation: an inactive row keeps who/when for audit, never the templates.
    row.active = False
    row.face_template = None
    row.fingerprint_iso = None
    row.deactivated_at = utcnow()
    row.deactivated_by = actor.username
    row.deactivation_reason = reason


def _store(session: Session, item: EnrolmentIn, actor: audit.Actor, source: str) -> tuple[Enrolment, int]:
    replaced = _active(session, item.document_number, item.issuing_state)
    for old in replaced:
        _wipe(old, actor, "replaced")
    fields = item.model_dump(exclude={"face_template", "fingerprint_iso"})
    row = Enrolment(
        **fields,
        face_template=_b64(item.face_template),
        fingerprint_iso=_b64(item.fingerprint_iso),
        source=source,
        created_by=actor.username,
        active=True,
    )
    session.add(row)
    return row, len(replaced)


def create(session: Session, data: Any, actor: audit.Actor, *, source: Literal["issuance", "import"] = "issuance") -> Enrolment:
    """Enrol one document (the passport-issuance workflow calls this with ``source="issuance"``)."""
    item = data if isinstance(data, EnrolmentIn) else parse(data)
    row, replaced = _store(session, item, actor, source)
    session.flush()
    audit.record(session, actor, "enrolment.create", target=f"enrolment:{row.id}",
                 details={"source": source, "issuing_state": item.issuing_state, "replaced": replaced,
                          "face": item.face_template is not None, "fingerprint": item.fingerprint_iso is not None})
    return row


def import_items(session: Session, items: Iterable[tuple[int, Any]], actor: audit.Actor, *, source_name: str) -> dict[str, int]:
    """All or nothing: every (row number, data) must validate, or ImportRejected lists each bad row."""
    parsed: list[EnrolmentIn] = []
    errors: list[tuple[int, str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, data in items:
        try:
            item = parse(data)
        except EnrolmentRejected as exc:
            errors.append((number, exc.field, exc.message))
            continue
        key = (item.document_number, item.issuing_state)
        if key in seen:
            errors.append((number, "document_number", f"same document as row {seen[key]}"))
            continue
        seen[key] = number
        parsed.append(item)
    if errors or not parsed:
        audit.record(session, actor, "enrolment.import_refused", target=source_name,
                     details={"errors": len(errors) or 1})
        raise ImportRejected(source_name, errors or [(0, "file", "no enrolments in the file")])
    replaced = 0
    for item in parsed:
        _row, count = _store(session, item, actor, "import")
        replaced += count
    session.flush()
    audit.record(session, actor, "enrolment.import", target=source_name,
                 details={"imported": len(parsed), "replaced": replaced})
    log.info("enrolment import %s: %d imported, %d replaced", source_name, len(parsed), replaced)
    return {"imported": len(parsed), "replaced": replaced}


def deactivate(session: Session, enrolment_id: int, actor: audit.Actor, reason: str) -> Enrolment:
    row = session.get(Enrolment, enrolment_id)
    if row is None or not row.active:
        raise EnrolmentNotFound(f"no active enrolment {enrolment_id}")
    _wipe(row, actor, reason[:200] or "withdrawn")
    audit.record(session, actor, "enrolment.deactivate", target=f"enrolment:{enrolment_id}", details={"reason": reason[:200]})
    return row


def lookup(session: Session, document_number: str, issuing_state: str | None = None) -> list[Enrolment]:
    """The active enrolments of a document (one per issuing state; usually exactly one)."""
    return _active(session, normalise_document_number(document_number), issuing_state)


def _digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest()[:16] if data is not None else None


def officer_view(row: Enrolment) -> dict[str, Any]:
    """For people: the identity and which templates exist (short digests), never the templates."""
    created = as_utc(row.created_at)
    return {
        "id": row.id, "document_number": row.document_number, "document_type": row.document_type,
        "issuing_state": row.issuing_state, "expiry_date": row.expiry_date.isoformat() if row.expiry_date else None,
        "given_names": row.given_names, "surname": row.surname, "sex": row.sex,
        "birth_date": row.birth_date.isoformat() if row.birth_date else None, "nationality": row.nationality,
        "face": {"model": row.face_model, "version": row.face_model_version, "sha256": _digest(row.face_template)}
        if row.face_template is not None else None,
        "fingerprint": {"finger_position": row.finger_position, "sha256": _digest(row.fingerprint_iso)}
        if row.fingerprint_iso is not None else None,
        "source": row.source, "created_at": created.isoformat() if created else None, "created_by": row.created_by,
        "active": row.active,
    }


def gate_view(row: Enrolment) -> dict[str, Any]:
    """For a gate: the nine fields and the templates (base64), nothing about who enrolled it."""
    return {
        "document_number": row.document_number, "document_type": row.document_type,
        "issuing_state": row.issuing_state, "expiry_date": row.expiry_date.isoformat() if row.expiry_date else None,
        "given_names": row.given_names, "surname": row.surname, "sex": row.sex,
        "birth_date": row.birth_date.isoformat() if row.birth_date else None, "nationality": row.nationality,
        "face_template": base64.b64encode(row.face_template).decode() if row.face_template is not None else None,
        "face_model": row.face_model, "face_model_version": row.face_model_version,
        "fingerprint_iso": base64.b64encode(row.fingerprint_iso).decode() if row.fingerprint_iso is not None else None,
        "finger_position": row.finger_position,
    }
