"""The office's public holidays, stored, and the working-day calendar built from them.

Holidays are configured by an administrator (``autogate central holidays ...`` or /work/admin);
the calendar the engine uses is rebuilt from the table when a case moves, so a holiday added
today counts for every deadline computed from now on.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.cases.errors import CaseRefused
from central.cases.models import Holiday
from central.services import audit
from central.workflows.calendar import WorkingCalendar


def calendar(session: Session, *, days_are_working_days: bool = False) -> WorkingCalendar:
    days = frozenset(session.scalars(select(Holiday.day)))
    return WorkingCalendar(holidays=days, days_are_working_days=days_are_working_days)


def holidays(session: Session, year: int | None = None) -> list[Holiday]:
    query = select(Holiday).order_by(Holiday.day)
    if year is not None:
        query = query.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    return list(session.scalars(query))


def add_holiday(session: Session, day: date, name: str, actor: audit.Actor) -> Holiday:
    name = name.strip()[:120]
    if not name:
        raise CaseRefused("a holiday needs a name (e.g. Hari Kemerdekaan)")
    row = session.get(Holiday, day)
    if row is None:
        row = Holiday(day=day, name=name, created_by=actor.username)
        session.add(row)
    else:
        row.name = name
    audit.record(session, actor, "holiday_set", target=f"holiday:{day.isoformat()}", details={"name": name})
    return row


def remove_holiday(session: Session, day: date, actor: audit.Actor) -> None:
    row = session.get(Holiday, day)
    if row is None:
        raise CaseRefused(f"{day.isoformat()} is not a configured holiday")
    session.delete(row)
    audit.record(session, actor, "holiday_removed", target=f"holiday:{day.isoformat()}")
