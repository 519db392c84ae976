"""Service-standard reports (/sla): per SOP and per step, the share within the standard, median
and 95th-percentile durations and the backlog, as a page with charts (SVG drawn on the server:
no script, nothing fetched) and as CSV.

``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (WIB days; default the last 30) and ``?workflow=`` narrow it.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, render_template, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from central.cases import service
from central.cases.models import Case, CaseStepRecord
from central.cases.sla_report import CaseFact, Figures, SopRow, StepFact, StepRow, report
from central.db import get_session
from central.roles import Role, role_required
from central.workflows.calendar import WIB
from central.security.limits import parse_day

bp = Blueprint("sla", __name__, url_prefix="/sla", template_folder="templates")
READERS = (Role.ADMIN, Role.SUPERVISOR, Role.BACKOFFICE, Role.OFFICER, Role.REPORT_ONLY)


def init_app(app: Flask) -> None:
    from central.navigation import NavEntry, add_entry

    app.register_blueprint(bp)
    add_entry(app, NavEntry("sla.page", "Service standards", frozenset(READERS), order=55,
                            description="Per SOP and step: share of cases within the time standard, "
                                        "median and p95, backlog; as charts and CSV"))


def _day(text: str | None, default: date) -> date:
    try:
        return parse_day(text) if text else default  # also a day beyond 1900-2199: the default
    except ValueError:
        return default


def _period() -> tuple[date, date, str | None]:
    today = datetime.now(UTC).astimezone(WIB).date()
    start = _day(request.args.get("from"), today - timedelta(days=29))
    end = _day(request.args.get("to"), today)
    workflow = request.args.get("workflow") or None
    return min(start, end), max(start, end), workflow


def build(session: Any, start: date, end: date, workflow: str | None, now_ms: int) -> tuple[list[SopRow], list[StepRow]]:
    """The figures for steps completed and cases opened in [start, end] (WIB days)."""
    lo = datetime.combine(start, datetime.min.time(), WIB)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), WIB)
    steps = select(CaseStepRecord, Case.workflow_id).join(Case, Case.id == CaseStepRecord.case_id).where(
        CaseStepRecord.completed_at >= lo, CaseStepRecord.completed_at < hi)
    cases = select(Case).where((Case.status == "open") | ((Case.opened_at >= lo) & (Case.opened_at < hi)))
    if workflow:
        steps = steps.where(Case.workflow_id == workflow)
        cases = cases.where(Case.workflow_id == workflow)
    step_facts = [StepFact(wid, r.step_id, (service.ms(r.completed_at) - service.ms(r.started_at)) / 1000,
                           r.within_standard, r.waited_on) for r, wid in session.execute(steps)]
    case_facts = []
    for row in session.scalars(cases):
        due = service.ms(row.current_due_at) if row.current_due_at is not None else None
        closed = service.ms(row.closed_at) if row.closed_at is not None else None
        case_facts.append(CaseFact(row.workflow_id, row.status,
                                   (closed - service.ms(row.opened_at)) / 1000 if closed is not None else None,
                                   row.status == "open" and due is not None and due < now_ms))
    sops, per_step = report(step_facts, case_facts)
    order = {d.id: {s.id: i for i, s in enumerate(d.steps)} for d in service.registry().sorted()}
    per_step.sort(key=lambda r: (r.workflow_id, order.get(r.workflow_id, {}).get(r.step_id, 999)))
    return sops, per_step


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _sec(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


@bp.route("")
@role_required(*READERS)
def page() -> str:
    from central.views.common import now_ms

    start, end, workflow = _period()
    sops, per_step = build(get_session(), start, end, workflow, now_ms())
    registry = service.registry()
    titles = {d.id: d.title_en for d in registry.sorted()}
    standards = {(d.id, s.id): s.time for d in registry.sorted() for s in d.steps}
    return render_template("sla/report.html", sops=sops, steps=per_step, start=start, end=end, workflow=workflow,
                           titles=titles, standards=standards, workflows=registry.sorted(), chart=_chart(sops, titles))


def _chart(sops: list[SopRow], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Bars for the SVG: the share of office steps within standard, per SOP with any judged step."""
    bars = []
    for row in sops:
        share = row.office.share_within
        if share is None:
            continue
        bars.append({"id": row.workflow_id, "title": titles.get(row.workflow_id, row.workflow_id),
                     "share": share, "width": round(share * 400, 1), "judged": row.office.judged})
    return bars


@bp.route("/export.csv")
@role_required(*READERS)
def csv_export() -> Response:
    from central.views.common import now_ms

    start, end, workflow = _period()
    sops, per_step = build(get_session(), start, end, workflow, now_ms())
    out = io.StringIO()
    writer = csv.writer(out)
    if request.args.get("level") == "step":
        writer.writerow(["workflow", "step", "waits_on", "done", "with_standard", "within_standard", "share_within_pct",
                         "median_s", "p95_s"])
        for row in per_step:
            f: Figures = row.figures
            writer.writerow([row.workflow_id, row.step_id, row.waited_on or "", f.count, f.judged, f.within,
                             _pct(f.share_within), _sec(f.median_s), _sec(f.p95_s)])
    else:
        writer.writerow(["workflow", "office_steps", "office_with_standard", "office_within", "office_share_within_pct",
                         "office_median_s", "office_p95_s", "outside_waits", "outside_median_s", "outside_p95_s",
                         "closed_cases", "case_median_s", "case_p95_s", "open_cases", "overdue_cases"])
        for row in sops:
            writer.writerow([row.workflow_id, row.office.count, row.office.judged, row.office.within,
                             _pct(row.office.share_within), _sec(row.office.median_s), _sec(row.office.p95_s),
                             row.waits.count, _sec(row.waits.median_s), _sec(row.waits.p95_s), row.cases.count,
                             _sec(row.cases.median_s), _sec(row.cases.p95_s), row.open_cases, row.overdue_cases])
    name = f"sla-{request.args.get('level') or 'sop'}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
