"""The enrolment table: one row per enrolled document, templates only.

Biometric minimisation: no face image and no fingerprint image is ever stored, only the
templates the gate compares against (a float32 face embedding of the model named with it, and
an ISO/IEC 19794-2 minutiae record). A replaced or withdrawn enrolment is kept inactive for audit, with its
templates wiped. The key is the normalised document number plus the issuing state; at most
one row per key is active (the service enforces it).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from central.models import Base, utcnow

SOURCES = ("import", "issuance")  # imported file / passport-issuance workflow (penerbitan paspor)


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (Index("ix_enrolments_document", "document_number", "issuing_state", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The nine MRZ fields the gate matches the presented document against (SOP tpi-01).
    document_number: Mapped[str] = mapped_column(String(20))  # nomor dokumen perjalanan, normalised
    document_type: Mapped[str] = mapped_column(String(2))
    issuing_state: Mapped[str] = mapped_column(String(3))
    expiry_date: Mapped[date | None]
    given_names: Mapped[str] = mapped_column(String(80))
    surname: Mapped[str] = mapped_column(String(80))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None]
    nationality: Mapped[str] = mapped_column(String(3))
    face_template: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32 little-endian, unit norm, face_model's dimension
    face_model: Mapped[str | None] = mapped_column(String(64))
    face_model_version: Mapped[str | None] = mapped_column(String(32))
    fingerprint_iso: Mapped[bytes | None] = mapped_column(LargeBinary)  # ISO/IEC 19794-2:2005 record
    finger_position: Mapped[int | None] = mapped_column(Integer)  # ISO finger code, 0 = unknown
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None]
    deactivated_by: Mapped[str | None] = mapped_column(String(64))
    deactivation_reason: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:  # never templates, never the full identity
        return f"Enrolment(id={self.id}, state={self.issuing_state}, active={self.active})"
