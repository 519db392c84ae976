"""The cases pages (/cases), printable documents, and the JSON API (/api/v1/cases).

Thin views: they read the request, call :mod:`central.cases.service` and render. Who may do a
step is the engine's rule (the step's roles); the views only say it early and clearly.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from central.cases import documents, service
from central.cases.errors import CaseNotFound, CaseRefused
from central.cases.tariff import load_tariff
from central.db import get_session
from central.roles import Role, authenticated, role_required
from central.views.common import actor, now_ms
from central.workflows.fees import OverstayTariff

log = logging.getLogger(__name__)

EXT_TARIFF = "autogate.cases.tariff"
WORK = (Role.SUPERVISOR, Role.OFFICER, Role.ADMIN, Role.BACKOFFICE, Role.CCTV_OPERATOR)
READ = (*WORK, Role.REPORT_ONLY)  # report_only reads the list, nothing more
TRAVELER_FIELDS = (
    "document_number",
    "document_type",
    "issuing_state",
    "expiry_date",
    "surname",
    "given_names",
    "sex",
    "birth_date",
    "nationality",
)
CSS = Path(__file__).with_name("static") / "cases.css"

bp = Blueprint("cases", __name__, url_prefix="/cases", template_folder="templates")
api = Blueprint("cases_api", __name__, url_prefix="/api/v1/cases")


def init_app(app: Flask, *, tariff: OverstayTariff | None = None) -> None:
    """Register the pages and the API; *tariff* overrides ``$AUTOGATE_CASES_TARIFF_FILE``."""
    app.extensions[EXT_TARIFF] = tariff or load_tariff()
    app.jinja_env.filters["case_time"] = format_ms
    app.jinja_env.filters["case_duration"] = format_duration
    app.register_blueprint(bp)
    app.register_blueprint(api)


def format_ms(value: int | None) -> str:
    """A case time as officers read it: WIB (central/timefmt.py)."""
    from central.timefmt import format_wib

    return format_wib(value)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _role() -> str | None:
    user = g.get("user")
    return user.role if user else None


def _query() -> service.CaseQuery:
    status = request.args.get("status") or None
    if request.args.get("open") in ("1", "true", "yes"):
        status = "open"
    if status not in (None, "open", "closed"):
        status = None
    try:
        limit = max(1, min(500, int(request.args.get("limit", "200"))))
    except ValueError:
        limit = 200
    return service.CaseQuery(
        workflow=(request.args.get("workflow") or None),
        status=status,
        gate=(request.args.get("gate") or None),
        limit=limit,
    )


# ------------------------------------------------------------------ pages


@bp.route("/cases.css")
@authenticated
def stylesheet() -> Response:
    # Served by the blueprint: the app's deny-by-default check only lets the app's own static through.
    return Response(CSS.read_text(encoding="utf-8"), mimetype="text/css")


@bp.route("")
@role_required(*READ)
def index() -> str:
    session = get_session()
    now = now_ms()
    query = _query()
    rows = service.list_cases(session, query, role=_role())
    return render_template(
        "cases/list.html",
        cases=[service.case_view(row, now) for row in rows],
        workflows=_workflows_for_role(),
        query=query,
        now_ms=now,
        can_open=_role() != Role.REPORT_ONLY,
        can_view=_role() != Role.REPORT_ONLY,
    )


def _workflows_for_role() -> list[Any]:
    allowed = service.visible_workflows(_role())
    return [d for d in service.curated() if allowed is None or d.id in allowed]


@bp.route("/new", methods=["GET", "POST"])
@role_required(*WORK)
def new() -> Any:
    workflows = _workflows_for_role()
    if request.method == "GET":
        return render_template(
            "cases/new.html",
            workflows=workflows,
            traveler_fields=TRAVELER_FIELDS,
            selected=request.args.get("workflow", ""),
        )
    session = get_session()
    try:
        context = _manual_context()
        row = service.open_case(
            session,
            request.form.get("workflow", ""),
            now_ms=now_ms(),
            actor=actor(),
            context=context,
        )
    except (CaseRefused, ValueError) as exc:
        session.rollback()
        flash(f"Case not opened: {exc}")
        return Response(
            render_template(
                "cases/new.html",
                workflows=workflows,
                traveler_fields=TRAVELER_FIELDS,
                selected=request.form.get("workflow", ""),
            ),
            status=400,
        )
    session.commit()
    return redirect(url_for("cases.detail", case_id=row.id))


def _manual_context() -> dict[str, Any]:
    """A case opened at a counter: the traveler as the officer typed it, and for tpi-07 the
    overstay assessed from the permit expiry and the departure date with the configured tariff."""
    form = request.form
    traveler = {
        name: form.get(name, "").strip().upper()
        for name in TRAVELER_FIELDS
        if form.get(name, "").strip()
    }
    context: dict[str, Any] = {"source": "manual"}
    if traveler:
        context["traveler"] = traveler
    for name in ("gate_id", "reason_text", "flight"):
        value = form.get(name, "").strip()
        if value:
            context[name] = value[:200]
    if form.get("workflow") == service.OVERSTAY:
        expiry = _date(form.get("permit_expiry", ""), "permit expiry")
        departure_text = form.get("departure", "").strip()
        departure = (
            _date(departure_text, "departure")
            if departure_text
            else format_date_today()
        )
        context.update(
            service.overstay_context(
                expiry, departure, current_app.extensions[EXT_TARIFF]
            )
        )
    return context


def format_date_today() -> date:
    from central.timefmt import WIB

    return datetime.fromtimestamp(now_ms() / 1000, tz=WIB).date()  # the day as Soekarno-Hatta names it


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CaseRefused(f"{what} must be a date (YYYY-MM-DD), got {text!r}") from None


def _detail_context(row: Any, now: int) -> dict[str, Any]:
    definition = service.definition_of(row)
    state = service.state_of(row)
    step = definition.step(state.current_step) if state.current_step else None
    role = _role()
    fields: list[str] = []
    if step is not None:
        fields = list(step.required_fields)
        for key in step.documents:
            fields += [f for f in definition.document(key).fields if f not in fields]
    return {
        "case": row,
        "view": service.case_view(row, now),
        "definition": definition,
        "state": state,
        "step": step,
        "may_act": step is not None and role in step.roles,
        "fields": fields,
        "required": set(step.required_fields) if step else set(),
        "labels": documents.FIELD_LABELS,
        "traveler": documents.traveler_rows(row.context),
        "history": [(r, definition.step(r.step_id)) for r in state.history],
        "produced": [
            (key, definition.document(key))
            for r in state.history
            for key in r.documents
        ],
        "now_ms": now,
    }


@bp.route("/<int:case_id>")
@role_required(*WORK)
def detail(case_id: int) -> str:
    row = service.get_case(get_session(), case_id, role=_role())
    return render_template("cases/detail.html", **_detail_context(row, now_ms()))


@bp.route("/<int:case_id>/steps/<step_id>", methods=["POST"])
@role_required(*WORK)
def complete(case_id: int, step_id: str) -> Any:
    session = get_session()
    row = service.get_case(session, case_id, role=_role())
    definition = service.definition_of(row)
    status = 400
    try:
        step = definition.step(step_id)
        if _role() not in step.roles:
            status = 403
            raise CaseRefused(
                f"step {step_id!r} is for {', '.join(step.roles)}; your role is {_role()}"
            )
        allowed = set(step.required_fields) | {
            f for k in step.documents for f in definition.document(k).fields
        }
        data = {
            k: request.form.get(k, "").strip()[:2000]
            for k in allowed
            if request.form.get(k, "").strip()
        }
        service.complete(
            session,
            case_id,
            actor=actor(),
            step_id=step_id,
            now_ms=now_ms(),
            answer=request.form.get("answer") or None,
            data=data,
        )
    except (CaseRefused, KeyError) as exc:
        session.rollback()
        message = str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)
        log.info(
            "case %d: step %s refused for %s: %s", case_id, step_id, _role(), message
        )
        row = service.get_case(session, case_id, role=_role())
        return Response(
            render_template(
                "cases/detail.html", error=message, **_detail_context(row, now_ms())
            ),
            status=status,
        )
    session.commit()
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.route("/<int:case_id>/documents/<key>")
@role_required(*WORK)
def document(case_id: int, key: str) -> Any:
    row = service.get_case(get_session(), case_id, role=_role())
    definition = service.definition_of(row)
    state = service.state_of(row)
    try:
        doc = documents.document_view(definition, state, key)
    except KeyError as exc:
        raise CaseNotFound(str(exc.args[0])) from None
    return render_template(
        "cases/document.html",
        doc=doc,
        case=row,
        definition=definition,
        traveler=documents.traveler_rows(row.context),
        office=documents.OFFICE,
        ministry=documents.MINISTRY,
        copies=range(1, doc.copies + 1),
    )


@bp.errorhandler(CaseNotFound)
def _not_found(exc: CaseNotFound) -> Response:
    return Response(
        render_template("error.html", status=404, reason=str(exc)), status=404
    )


@bp.errorhandler(CaseRefused)
def _refused(exc: CaseRefused) -> Response:
    return Response(
        render_template("error.html", status=409, reason=str(exc)), status=409
    )


# ------------------------------------------------------------------ JSON API (and the console)


@api.route("")
@role_required(*READ)
def api_list() -> Response:
    """``?gate=G&open=1``: the console shows the cekal case clock next to a hold."""
    now = now_ms()
    rows = service.list_cases(get_session(), _query(), role=_role())
    return jsonify(
        {"now_ms": now, "cases": [service.case_view(row, now) for row in rows]}
    )


@api.route("/<int:case_id>")
@role_required(*WORK)
def api_detail(case_id: int) -> Response:
    session = get_session()
    row = service.get_case(session, case_id, role=_role())
    view = service.case_view(row, now_ms())
    view["context"] = row.context
    view["history"] = [
        {
            "step": r.step_id,
            "actor": r.actor,
            "role": r.role,
            "started_at_ms": service.ms(r.started_at),
            "completed_at_ms": service.ms(r.completed_at),
            "standard_s": r.standard_s,
            "within_standard": r.within_standard,
            "answer": r.answer,
            "data": r.data,
            "documents": [d for d in r.documents.split(",") if d],
        }
        for r in service.step_records(session, case_id)
    ]
    return jsonify(view)


@api.route("/<int:case_id>/steps/<step_id>", methods=["POST"])
@role_required(*WORK)
def api_complete(case_id: int, step_id: str) -> Response:
    body = request.get_json(silent=True) or {}
    data = (body.get("data") or {}) if isinstance(body, dict) else None
    answer = body.get("answer") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(answer, str | None):
        return _json_error(
            400, "invalid", 'send {"answer": "<text>" or null, "data": {...}}'
        )
    session = get_session()
    definition = service.definition_of(service.get_case(session, case_id, role=_role()))
    if any(s.id == step_id and _role() not in s.roles for s in definition.steps):
        return _json_error(403, "role", f"step {step_id!r} is not for {_role()}")
    try:
        row = service.complete(
            session,
            case_id,
            actor=actor(),
            step_id=step_id,
            now_ms=now_ms(),
            answer=answer,
            data={str(k)[:64]: v for k, v in data.items()},
        )
    except CaseRefused as exc:
        session.rollback()
        return _json_error(409, "refused", str(exc))
    session.commit()
    return jsonify(service.case_view(row, now_ms()))


@api.errorhandler(CaseNotFound)
def _api_not_found(exc: CaseNotFound) -> Response:
    return _json_error(404, "not_found", str(exc))


@api.errorhandler(CaseRefused)
def _api_refused(exc: CaseRefused) -> Response:
    return _json_error(409, "refused", str(exc))


def _json_error(status: int, code: str, text: str) -> Response:
    response = jsonify({"error": code, "message": text})
    response.status_code = status
    return response
