"""Case tables on central's ``Base``, and the back office's own: positions, holidays, links,
captured biometrics, notifications, gateway messages, watchlist proposals.

``Case.state`` is the engine's :class:`~central.workflows.CaseState` as JSON, the source of truth;
the other columns are copies for querying, rewritten on every change. ``CaseStepRecord`` mirrors
each ``StepRecord`` as a row so SLA reports are plain SQL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Connection, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from central.models import Base, Json, User, utcnow


class Case(Base):
    """One SOP case (kasus): a cekal hold, a referral, a passport application, a detention ..."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_opened", "status", "opened_at"),
        UniqueConstraint("reference", name="uq_cases_reference"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / closed
    current_step: Mapped[str | None] = mapped_column(String(48))
    current_since: Mapped[datetime]
    current_due_at: Mapped[datetime | None] = mapped_column(index=True)  # None: no standard ("kondisional")
    overdue_notified_at: Mapped[datetime | None]  # the current step's overdue notice went out
    opened_at: Mapped[datetime]
    opened_by: Mapped[str | None] = mapped_column(String(64))  # None: opened by a gate event
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))
    gate_id: Mapped[str | None] = mapped_column(String(64), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # An applicant-facing case's application number (nomor permohonan), e.g. PASPOR-7KQ2M9XD.
    reference: Mapped[str | None] = mapped_column(String(32))
    # A redelivered gate event never opens a second case.
    source_message_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    context: Mapped[Json]  # gate, reason, traveler's nine MRZ fields, applicant, watchlist entry ...
    state: Mapped[Json]  # the engine's CaseState


class CaseStepRecord(Base):
    """One completed step, for reporting: who, holding which position, when, against which deadline."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(40))
    waited_on: Mapped[str | None] = mapped_column(String(40))  # an outside party's reply: timed apart
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    standard_s: Mapped[int | None] = mapped_column(Integer)
    within_standard: Mapped[bool | None] = mapped_column(Boolean)
    answer: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[Json]
    documents: Mapped[str] = mapped_column(Text, default="")  # comma-separated document keys


class PositionHolder(Base):
    """A user holds a position (jabatan) from the decree: which SOP steps they may take."""

    __tablename__ = "position_holders"
    __table_args__ = (UniqueConstraint("user_id", "position", name="uq_position_holders_user_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    position: Mapped[str] = mapped_column(String(40), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by: Mapped[str | None] = mapped_column(String(64))


class OfficerContact(Base):
    """Where an officer's overdue notices go besides the app (e-mail, WhatsApp number)."""

    __tablename__ = "officer_contacts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))


class Holiday(Base):
    """A public holiday (hari libur nasional / cuti bersama): not a working day."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[str | None] = mapped_column(String(64))


class CaseLink(Base):
    """What a case led to: another case, the enrolment gates verify against, a watchlist proposal."""

    __tablename__ = "case_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # case / enrolment / watchlist_proposal
    target: Mapped[str] = mapped_column(String(64), index=True)  # the other record's id
    relation: Mapped[str] = mapped_column(String(200), default="")
    step_id: Mapped[str | None] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseBiometrics(Base):
    """Templates captured at an application's interview (doc-01, int-01), until the approval turns
    them into the enrolment. Templates only, never images; the row is deleted when enrolled or
    when the case ends otherwise."""

    __tablename__ = "case_biometrics"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    face_template: Mapped[bytes | None] = mapped_column(LargeBinary)
    face_model: Mapped[str | None] = mapped_column(String(64))
    face_model_version: Mapped[str | None] = mapped_column(String(32))
    fingerprint_iso: Mapped[bytes | None] = mapped_column(LargeBinary)
    finger_position: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[Json] = mapped_column(default=dict)  # scores and reasons, no biometric data
    captured_by: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """An in-app notice to one officer (the badge): a step of a position they hold is overdue."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    position: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[str | None] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(24))  # overdue
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class GatewayMessage(Base):
    """Every message through the SMS/WhatsApp gateway (it-06b) or the outgoing adapter, with its
    delivery status: an applicant's query and its answer, a 'passport ready' notice, an overdue notice."""

    __tablename__ = "gateway_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))  # in / out
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp / sms / email / log
    address: Mapped[str] = mapped_column(String(200))  # phone number or e-mail address
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))  # received / sent / delivered / failed ...
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_at: Mapped[datetime | None]


class WatchlistProposal(Base):
    """A proposed entry ban (usul penangkalan) from a deportation (int-04): it reaches the gates
    only when approved, as a watchlist entry."""

    __tablename__ = "watchlist_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed / approved / rejected
    data: Mapped[Json]  # identity and reason for the entry
    entry_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]


@event.listens_for(User, "after_insert")
def _role_default_positions(_mapper: object, connection: Connection, user: User) -> None:
    """Every new account, however created (CLI, admin page, import), starts with the positions its
    role implies, so a counter officer can take counter steps on day one; the rest is assigned."""
    from central.workflows.positions import ROLE_DEFAULTS

    defaults = ROLE_DEFAULTS.get(user.role, ())
    if defaults:
        connection.execute(
            PositionHolder.__table__.insert(),
            [{"user_id": user.id, "position": key, "assigned_at": utcnow(), "assigned_by": "role default"} for key in defaults],
        )
