"""Crossing (perlintasan) reports as pages: search, the daily recap, per-gate statistics.

The same figures are JSON under ``/api/v1/reports/daily`` and ``/api/v1/stats/gates``.
Searching shows personal data, so it is for operational roles; the recap and statistics are
counts only and also open to the report-only role.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from flask import Blueprint, render_template, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from central.db import get_session
from central.roles import Role, role_required
from central.services import crossings, stats
from central.services.stats import WIB
from central.views.common import now_ms
from central.security.limits import Day

bp = Blueprint("reports", __name__, url_prefix="/reports")

OPERATIONS = (Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE)
REPORTING = (*OPERATIONS, Role.REPORT_ONLY)
MAX_STATS_DAYS = 92  # a quarter: the statistics read every row of the window


def today_wib() -> date:
    return datetime.fromtimestamp(now_ms() / 1000, WIB).date()


class DayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Day | None = None


class RangeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_from: Day | None = None
    date_to: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RangeQuery:
        if self.date_from and self.date_to:
            if self.date_to < self.date_from:
                raise ValueError("date_to is before date_from")
            if (self.date_to - self.date_from).days >= MAX_STATS_DAYS:
                raise ValueError(f"at most {MAX_STATS_DAYS} days")
        return self

    def bounds(self, today: date) -> tuple[date, date]:
        date_to = self.date_to or self.date_from or today
        return self.date_from or date_to - timedelta(days=6), date_to


class SearchForm(BaseModel):
    """The search form: empty fields are absent, not empty strings."""

    model_config = ConfigDict(extra="ignore")

    document_number: Annotated[str, Field(max_length=20)] | None = None
    name: Annotated[str, Field(min_length=2, max_length=80)] | None = None
    gate: Annotated[str, Field(max_length=64)] | None = None
    date_from: Day | None = None
    date_to: Day | None = None


def _form_values() -> dict[str, Any]:
    return {k: v.strip() for k, v in request.args.items() if v.strip()}


def _error_text(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


@bp.route("/crossings")
@role_required(*OPERATIONS)
def crossings_page() -> tuple[str, int] | str:
    values = _form_values()
    rows: list[dict[str, Any]] = []
    error = None
    searched = bool(values)
    if searched:
        try:
            form = SearchForm.model_validate(values)
            query = crossings.CrossingQuery(**form.model_dump(exclude_none=True), limit=200)
            rows = [crossings.crossing_view(c) for c in crossings.search(get_session(), query)]
        except ValidationError as exc:
            error = _error_text(exc)
    page = render_template(
        "reports/crossings.html",
        values=values,
        rows=rows,
        error=error,
        searched=searched,
    )
    return (page, 400) if error else page


@bp.route("/daily")
@role_required(*REPORTING)
def daily_page() -> tuple[str, int] | str:
    try:
        query = DayQuery.model_validate(_form_values())
    except ValidationError as exc:
        return render_template("reports/daily.html", recap=None, error=_error_text(exc), day=None), 400
    day = query.day or today_wib()
    return render_template(
        "reports/daily.html",
        recap=stats.daily_recap(get_session(), day),
        error=None,
        day=day,
    )


@bp.route("/gates")
@role_required(*REPORTING)
def gates_page() -> tuple[str, int] | str:
    try:
        query = RangeQuery.model_validate(_form_values())
    except ValidationError as exc:
        return render_template("reports/gates.html", report=None, error=_error_text(exc)), 400
    date_from, date_to = query.bounds(today_wib())
    report = stats.gate_statistics(get_session(), date_from, date_to)
    return render_template("reports/gates.html", report=report, error=None)
