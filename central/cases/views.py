"""The cases pages (/cases): list, open a case, the case with its current step, capture, printable
documents. The JSON API is in :mod:`central.cases.api`.

Thin views: they read the request, call :mod:`central.cases.service` and render. Who may take a
step is the engine's rule (the step's positions, separation of duties); the views say it early,
in words, before the officer fills a form.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from central.cases import biometrics, documents, forms, service
from central.cases.errors import CaseNotFound, CaseRefused
from central.cases.models import CaseBiometrics
from central.cases.positions import positions_of
from central.cases.tariff import load_tariff
from central.db import get_session
from central.i18n import current_language
from central.roles import Role, authenticated, role_required
from central.views.common import actor, now_ms
from central.workflows import SeparationOfDuties, offered_answers
from central.workflows import positions as vocabulary
from central.workflows.engine import acting_position, check_separation, spans
from central.workflows.fees import OverstayTariff

log = logging.getLogger(__name__)

EXT_TARIFF = "autogate.cases.tariff"
EXT_ENGINES = "autogate.cases.capture_engines"
WORK = (Role.SUPERVISOR, Role.OFFICER, Role.ADMIN, Role.BACKOFFICE, Role.CCTV_OPERATOR)
READ = (*WORK, Role.REPORT_ONLY)  # report_only reads the list, nothing more
STATIC = Path(__file__).with_name("static")
CAPTURE_MAX_BYTES = 4 * 1024 * 1024  # a camera photo and a 500 ppi fingerprint together

bp = Blueprint("cases", __name__, url_prefix="/cases", template_folder="templates")


def init_app(app: Flask, *, tariff: OverstayTariff | None = None, engines: biometrics.CaptureEngines | None = None) -> None:
    """Register the pages, the API and the back office's other areas; *tariff* overrides
    ``$AUTOGATE_CASES_TARIFF_FILE``, *engines* the face and fingerprint engines (loaded on first use)."""
    from central.cases import api, public, sla, work
    from central.cases.i18n_back_office import INDONESIAN as BACK_OFFICE
    from central.i18n_table import INDONESIAN

    INDONESIAN.update({k: v for k, v in BACK_OFFICE.items() if k not in INDONESIAN})
    app.extensions[EXT_TARIFF] = tariff or load_tariff()
    app.extensions[EXT_ENGINES] = engines or biometrics.CaptureEngines()
    app.jinja_env.filters["case_time"] = format_ms
    app.jinja_env.filters["case_duration"] = format_duration
    app.jinja_env.globals["position_title"] = position_title
    app.jinja_env.globals["field_label"] = field_label
    app.jinja_env.globals["assignable_positions"] = vocabulary.ASSIGNABLE
    app.register_blueprint(bp)
    api.init_app(app)
    work.init_app(app)
    public.init_app(app)
    sla.init_app(app)


def html(page: str, status: int) -> Response:
    """A rendered page with a status other than 200 (werkzeug's Response defaults to text/plain)."""
    return Response(page, status=status, mimetype="text/html")


def format_ms(value: int | None) -> str:
    """A case time as officers read it: WIB (central/timefmt.py)."""
    from central.timefmt import format_wib

    return format_wib(value)


def _today_in_wib() -> Any:
    from central.timefmt import WIB

    return datetime.fromtimestamp(now_ms() / 1000, tz=WIB).date()  # the day as Soekarno-Hatta names it


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours}:{minutes:02d}:{secs:02d}"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def position_title(key: str) -> str:
    return vocabulary.title(key, current_language())


def field_label(name: str) -> str:
    return documents.label(name, current_language())


def _role() -> str | None:
    user = g.get("user")
    return user.role if user else None


def _username() -> str | None:
    user = g.get("user")
    return user.username if user else None


def held() -> frozenset[str]:
    return positions_of(get_session(), _username())


def calendar() -> Any:
    from central.app import EXT_SETTINGS

    settings = current_app.extensions[EXT_SETTINGS]
    return service.calendar_for(get_session(), days_are_working_days=settings.office.days_are_working_days)


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
    return service.CaseQuery(workflow=request.args.get("workflow") or None, status=status,
                             gate=request.args.get("gate") or None, reference=request.args.get("reference") or None,
                             limit=limit)


def openable(positions: frozenset[str]) -> list[Any]:
    """The workflows a holder of *positions* may open by hand."""
    role = _role()
    return [d for d in service.curated()
            if set(d.openers) & positions and service.may_see(d, role, positions)]


# ------------------------------------------------------------------ pages


@bp.route("/cases.css")
@authenticated
def stylesheet() -> Response:
    # Served by the blueprint: the app's deny-by-default check only lets the app's own static through.
    return Response((STATIC / "cases.css").read_text(encoding="utf-8"), mimetype="text/css")


@bp.route("/capture.js")
@authenticated
def capture_script() -> Response:
    return Response((STATIC / "capture.js").read_text(encoding="utf-8"), mimetype="text/javascript")


@bp.route("")
@role_required(*READ)
def index() -> str:
    session = get_session()
    now = now_ms()
    query = _query()
    rows = service.list_cases(session, query, role=_role(), username=_username())
    mine = held()
    return render_template(
        "cases/list.html", cases=[service.case_view(row, now) for row in rows],
        workflows=[d for d in service.curated() if service.may_see(d, _role(), mine)], query=query, now_ms=now,
        can_open=bool(openable(mine)), can_view=_role() != Role.REPORT_ONLY)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*WORK)
def new() -> Any:
    mine = held()
    workflows = openable(mine)
    chosen_id = request.values.get("workflow", "")
    chosen = next((d for d in workflows if d.id == chosen_id), None)
    if request.method == "GET" or chosen is None:
        refused = bool(chosen_id) and chosen is None
        if refused:
            flash(f"Case not opened: {chosen_id} is not an SOP your positions may open")
        page = render_template("cases/new.html", workflows=workflows, chosen=chosen, positions=sorted(mine),
                               groups=forms.groups_for(chosen) if chosen else None,
                               traveler_fields=forms.TRAVELER_FIELDS)
        return html(page, 403 if refused else 400 if request.method == "POST" else 200)
    session = get_session()
    try:
        context = forms.context_from(chosen, request.form, today=_today_in_wib(),
                                     tariff=current_app.extensions[EXT_TARIFF])
        row = service.open_case(session, chosen.id, now_ms=now_ms(), actor=actor(), context=context, calendar=calendar())
    except CaseRefused as exc:
        session.rollback()
        flash(f"Case not opened: {exc}")
        return html(render_template("cases/new.html", workflows=workflows, chosen=chosen, positions=sorted(mine),
                                    groups=forms.groups_for(chosen), traveler_fields=forms.TRAVELER_FIELDS,
                                    form=request.form), 400)
    session.commit()
    return redirect(url_for("cases.detail", case_id=row.id))


def _who_may(step: Any, state: Any, mine: frozenset[str]) -> tuple[bool, str]:
    """Whether the viewer may take *step*, and if not, why (in words)."""
    if acting_position(step, mine) is None:
        names = " or ".join(position_title(p) for p in step.positions)
        return False, f"This step is for {names}; you hold {', '.join(position_title(p) for p in sorted(mine)) or 'no position'}."
    try:
        check_separation(step, state, _username() or "")
    except SeparationOfDuties:
        return False, "You did the step this one approves: someone else holding the position takes it."
    return True, ""


def _detail_context(row: Any, now: int) -> dict[str, Any]:
    session = get_session()
    definition = service.definition_of(row)
    state = service.state_of(row)
    step = definition.step(state.current_step) if state.current_step else None
    mine = held()
    language = current_language()
    may_act, why_not = _who_may(step, state, mine) if step else (False, "")
    answers = []
    if step is not None and step.is_decision:
        offered = set(offered_answers(step, state))
        answers = [(b.answer, (b.label_id if language == "id" and b.label_id else b.label_en))
                   for b in step.branches if b.answer in offered]
    return {
        "case": row,
        "view": service.case_view(row, now),
        "definition": definition,
        "current_version": service.registry().get(row.workflow_id).version,
        "state": state,
        "step": step,
        "may_act": may_act,
        "why_not": why_not,
        "answers": answers,
        "question": (step.question_id if language == "id" and step and step.question_id else step.question_en) if step else None,
        "fields": step.input_fields(definition) if step else [],
        "required": set(step.required_fields) if step else set(),
        "long_fields": documents.LONG_FIELDS,
        "traveler": documents.traveler_rows(row.context, language),
        "person": documents.person_rows(row.context, language),
        # A case moved to another version (autogate sop migrate-case) keeps steps recorded on the old one.
        "history": [(r, service.recorded_step(definition, r.step_id)) for r in state.history],
        "produced": [(key, spec) for key, spec in dict.fromkeys(
            (key, service.recorded_document(definition, key)) for r in state.history for key in r.documents)
            if spec is not None],
        "links": service.links_of(session, row.id),
        "spans": [(s, next(x for x in definition.spans if x.id == s.span_id)) for s in spans(definition, state, calendar())],
        "follow_ups": [service.registry().get(w) for w in definition.follow_ups
                       if set(service.registry().get(w).openers) & mine],
        "captured": session.get(CaseBiometrics, row.id) if step is not None and step.requires_biometrics else None,
        "now_ms": now,
    }


def _load(case_id: int) -> Any:
    row = service.get_case(get_session(), case_id, role=_role(), username=_username())
    if service.definition_of(row).confidential:
        from central.services import audit

        audit.record(get_session(), actor(), "case_viewed", target=f"case:{case_id}")  # confidential reads are audited
        get_session().commit()
    return row


@bp.route("/<int:case_id>")
@role_required(*WORK)
def detail(case_id: int) -> str:
    return render_template("cases/detail.html", **_detail_context(_load(case_id), now_ms()))


def _refused_page(case_id: int, message: str, status: int) -> Response:
    session = get_session()
    session.rollback()
    log.info("case %d refused for %s: %s", case_id, _username(), message)
    row = service.get_case(session, case_id, role=_role(), username=_username())
    return html(render_template("cases/detail.html", error=message, **_detail_context(row, now_ms())), status)


@bp.route("/<int:case_id>/steps/<step_id>", methods=["POST"])
@role_required(*WORK)
def complete(case_id: int, step_id: str) -> Any:
    session = get_session()
    row = service.get_case(session, case_id, role=_role(), username=_username())
    definition = service.definition_of(row)
    try:
        step = definition.step(step_id)
    except KeyError as exc:
        return _refused_page(case_id, str(exc.args[0]), 400)
    may, why = _who_may(step, service.state_of(row), held())
    if not may:
        return _refused_page(case_id, why, 403)
    allowed = step.input_fields(definition)
    data = {k: request.form.get(k, "").strip()[:2000] for k in allowed if request.form.get(k, "").strip()}
    try:
        service.complete(session, case_id, actor=actor(), step_id=step_id, now_ms=now_ms(),
                         answer=request.form.get("answer") or None, data=data, calendar=calendar())
    except CaseRefused as exc:
        return _refused_page(case_id, str(exc), 400)
    session.commit()
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.route("/<int:case_id>/biometrics", methods=["POST"])
@role_required(*WORK)
def capture(case_id: int) -> Any:
    """The interview's capture: a face photo and a fingerprint, uploaded or from the counter's camera."""
    request.max_content_length = CAPTURE_MAX_BYTES
    session = get_session()
    row = service.get_case(session, case_id, role=_role(), username=_username())
    definition = service.definition_of(row)
    step = definition.step(row.current_step) if row.current_step else None
    if step is None or not step.requires_biometrics:
        return _refused_page(case_id, "this step captures no biometrics", 400)
    may, why = _who_may(step, service.state_of(row), held())
    if not may:
        return _refused_page(case_id, why, 403)
    face = request.files.get("face_image")
    finger = request.files.get("fingerprint_image")
    try:
        result = biometrics.capture(current_app.extensions[EXT_ENGINES],
                                    face_image=face.read() if face else None, finger_image=finger.read() if finger else None)
    except CaseRefused as exc:
        return _refused_page(case_id, str(exc), 400)
    biometrics.store(session, row.id, result, _username())
    from central.services import audit

    audit.record(session, actor(), "biometrics_captured", target=f"case:{case_id}",
                 details={"face": result.face_template is not None, "fingerprint": result.fingerprint_iso is not None,
                          **result.quality})
    session.commit()
    flash("Captured: " + ", ".join(k for k, v in (("face", result.face_template), ("fingerprint", result.fingerprint_iso)) if v))
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.route("/<int:case_id>/follow-ups/<workflow_id>", methods=["POST"])
@role_required(*WORK)
def follow_up(case_id: int, workflow_id: str) -> Any:
    session = get_session()
    row = service.get_case(session, case_id, role=_role(), username=_username())
    try:
        linked = service.open_follow_up(session, row, workflow_id, now_ms=now_ms(), actor=actor())
    except CaseRefused as exc:
        return _refused_page(case_id, str(exc), 403)
    session.commit()
    return redirect(url_for("cases.detail", case_id=linked.id))


@bp.route("/<int:case_id>/documents/<key>")
@role_required(*WORK)
def document(case_id: int, key: str) -> Any:
    row = _load(case_id)
    definition = service.definition_of(row)
    state = service.state_of(row)
    try:
        doc = documents.document_view(definition, state, key)
    except KeyError as exc:
        raise CaseNotFound(str(exc.args[0])) from None
    return render_template("cases/document.html", doc=doc, case=row, definition=definition,
                           traveler=documents.traveler_rows(row.context, "id"),
                           person=documents.person_rows(row.context, "id"),
                           office=documents.OFFICE, ministry=documents.MINISTRY, copies=range(1, doc.copies + 1),
                           signer=position_title_id(doc.record.position), printed_at=documents.wib(doc.record.completed_at_ms))


def position_title_id(key: str) -> str:
    return vocabulary.title(key, "id") if key else ""


@bp.errorhandler(CaseNotFound)
def _not_found(exc: CaseNotFound) -> Response:
    return html(render_template("error.html", status=404, reason=str(exc)), 404)


@bp.errorhandler(CaseRefused)
def _refused(exc: CaseRefused) -> Response:
    return html(render_template("error.html", status=409, reason=str(exc)), 409)
