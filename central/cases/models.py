"""Case tables on central's ``Base``.

``Case.state`` is the engine's :class:`~central.workflows.CaseState` as JSON, the source of truth;
the other columns are copies for querying, rewritten on every change. ``CaseStepRecord`` mirrors
each ``StepRecord`` as a row so SLA reports are plain SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.models import Base, Json


class Case(Base):
    """One SOP case (kasus): a cekal hold, an Interpol hit, a referral, an overstay ..."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_opened", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / closed
    current_step: Mapped[str | None] = mapped_column(String(48))
    current_since: Mapped[datetime]
    opened_at: Mapped[datetime]
    opened_by: Mapped[str | None] = mapped_column(
        String(64)
    )  # None: opened by a gate event
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))
    gate_id: Mapped[str | None] = mapped_column(String(64), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # A redelivered gate event never opens a second case.
    source_message_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    context: Mapped[
        Json
    ]  # gate, reason, traveler's nine MRZ fields, watchlist entry, overstay ...
    state: Mapped[Json]  # the engine's CaseState


class CaseStepRecord(Base):
    """One completed step, for reporting: who, in which role, when, against which standard."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime]
    standard_s: Mapped[int | None] = mapped_column(Integer)
    within_standard: Mapped[bool | None] = mapped_column(Boolean)
    answer: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[Json]
    documents: Mapped[str] = mapped_column(
        Text, default=""
    )  # comma-separated document keys
