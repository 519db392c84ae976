"""The database schema, as SQLAlchemy 2 typed ORM classes. Same code on SQLite and PostgreSQL.

Times are stored as timezone-aware UTC; SQLite hands them back naive, so read them through
:func:`as_utc`. Message ids are unique so that ingest is idempotent by construction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Json = dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite drops the zone on the way back; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute once
        Json: JSON,
        datetime: DateTime(timezone=True),
        date: Date,
    }


class Gate(Base):
    """One autogate, its verifying key and the latest things it told us."""

    __tablename__ = "gates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    direction: Mapped[str] = mapped_column(String(16))  # departure (keberangkatan) / arrival (kedatangan)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw Ed25519 key
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen_at: Mapped[datetime | None]
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    online_changed_at: Mapped[datetime | None]
    # Sender clocks of the latest applied state / heartbeat: latest sent_at wins.
    state_sent_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    health_sent_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[Json | None]
    health: Mapped[Json | None]
    watchlist_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# "A transaction_ended gate event", as each engine spells it: the partial index's predicate and
# the reports' filter must be the same expression for the planner to use the index.
ENDED_EVENT_SQL = {
    "postgresql": "kind = 'gate_event' AND (payload ->> 'event') = 'transaction_ended'",
    "sqlite": "kind = 'gate_event' AND json_extract(payload, '$.event') = 'transaction_ended'",
}


class GateMessage(Base):
    """Every accepted durable (outbox) message, once: the idempotency and gap ledger."""

    __tablename__ = "gate_messages"
    __table_args__ = (
        Index("ix_gate_messages_gate_seq", "gate_id", "seq"),
        # The reports read one event per traveller (transaction_ended: the outcome) out of the
        # dozen each traveller makes; this partial index holds only those (migration 0008).
        Index("ix_gate_messages_ended_at", "sent_at",
              postgresql_where=text(ENDED_EVENT_SQL["postgresql"]), sqlite_where=text(ENDED_EVENT_SQL["sqlite"])),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)
    gate_id: Mapped[str] = mapped_column(ForeignKey("gates.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[Json]


class Crossing(Base):
    """The legal entry/exit mark (perlintasan), one per crossing record a gate sent."""

    __tablename__ = "crossings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    gate_id: Mapped[str] = mapped_column(ForeignKey("gates.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    # The nine fields of the document scan (SOP tpi-01 "Langkah Utama").
    document_number: Mapped[str] = mapped_column(String(20), index=True)  # nomor dokumen perjalanan
    document_type: Mapped[str] = mapped_column(String(2))
    issuing_state: Mapped[str] = mapped_column(String(3))
    expiry_date: Mapped[date | None]
    given_names: Mapped[str] = mapped_column(String(80))
    surname: Mapped[str] = mapped_column(String(80), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date | None]
    nationality: Mapped[str] = mapped_column(String(3))
    fingerprint_match: Mapped[bool | None]
    fingerprint_score: Mapped[float | None] = mapped_column(Float)
    face_match: Mapped[bool | None]
    face_score: Mapped[float | None] = mapped_column(Float)
    biometrics: Mapped[Json] = mapped_column(default=dict)
    timings_ms: Mapped[Json] = mapped_column(default=dict)
    watchlist_version: Mapped[int | None]
    # None: the gate recorded it; else the counter officer who gave the mark after a referral.
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """Something a supervisor must see; ``requires_ack`` alerts stay on top until acknowledged."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gate_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))  # critical / high / warning / info
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[Json] = mapped_column(default=dict)
    requires_ack: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    source_message_id: Mapped[str | None] = mapped_column(String(32))
    # The gate message that answered it (a retry granted, a release): the console is told at once.
    answered_by_message_id: Mapped[str | None] = mapped_column(String(32), index=True)


class FaceEvidenceRecord(Base):
    """The captured face beside the enrolled one, for a supervisor deciding a failed face step.

    Biometric minimisation: only gates' failed face steps produce these, each row expires
    ``FACE_EVIDENCE_RETENTION`` after it arrived (central/ingest/store.py purges), and the
    message ledger keeps a redacted copy without the images.
    """

    __tablename__ = "face_evidence"
    __table_args__ = (Index("ix_face_evidence_gate_txn", "gate_id", "transaction_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gate_id: Mapped[str] = mapped_column(ForeignKey("gates.id"))
    transaction_id: Mapped[str] = mapped_column(String(64))
    captured_jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    enrolled_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary)
    enrolled_source: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    refused_reason: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    source_message_id: Mapped[str] = mapped_column(String(32))


class SequenceGap(Base):
    """Durable messages central has not received: seq ``from_seq``..``to_seq`` of one gate."""

    __tablename__ = "sequence_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gate_id: Mapped[str] = mapped_column(ForeignKey("gates.id"), index=True)
    from_seq: Mapped[int] = mapped_column(BigInteger)
    to_seq: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class User(Base):
    """An officer account; the password is an argon2 hash, never the password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an administrator resets the password: the next login must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every session cookie carries the generation it was issued under; logout, a password change
    # and disabling the account bump it, so cookies issued before stop working (server-side revocation).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditEntry(Base):
    """One officer action: who, in which role, did what to what, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[Json] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    # The hash chain (central/services/audit_chain.py): position, the previous entry's hash and this
    # entry's hash over its canonical content; a changed, removed or reordered entry breaks it.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row that says where the audit chain ends. Appending updates it first, which locks it
    (a row lock on PostgreSQL, the write lock on SQLite): concurrent officers queue, never fork."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


# create_all (tests, the demo) gets the head row the migration inserts, so appends only ever update it.
event.listen(
    AuditChainHead.__table__, "after_create",
    DDL("INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, 0, '" + "0" * 64 + "')"),
)


class CommandRecord(Base):
    """A signed command sent to a gate, and what the gate answered."""

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    gate_id: Mapped[str] = mapped_column(ForeignKey("gates.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # pending -> sent -> accepted / refused; not_sent when the broker did not take it
    status: Mapped[str] = mapped_column(String(16), default="pending")
    ack_at: Mapped[datetime | None]
    ack_reason: Mapped[str | None] = mapped_column(String(200))
    state_after: Mapped[str | None] = mapped_column(String(32))


class DeadLetter(Base):
    """A verified message the store could not write for a reason retrying cannot fix (a bug):
    kept whole here instead of being lost, so it is acknowledged only once it is on disk."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
