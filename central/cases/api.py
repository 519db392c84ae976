"""The cases JSON API (/api/v1/cases): what the console's case clock and other programs use.

- ``GET /api/v1/cases?gate=G&open=1&workflow=W&reference=R``: cases with their clock;
- ``GET /api/v1/cases/<id>``: one case with its context, step history and links;
- ``POST /api/v1/cases``: open a case ``{"workflow": W, "context": {...}, "start_at": entry}``;
- ``POST /api/v1/cases/<id>/steps/<step>``: ``{"answer": ..., "data": {...}}``.

The same rules as the pages: positions decide who may open and act, the engine refuses the rest.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, jsonify, request
from werkzeug.wrappers import Response

from central.cases import service
from central.cases.errors import CaseNotFound, CaseRefused
from central.cases.views import READ, WORK, _query, calendar, held
from central.db import get_session
from central.roles import role_required
from central.views.common import actor, now_ms
from central.workflows.engine import acting_position

api = Blueprint("cases_api", __name__, url_prefix="/api/v1/cases")


def init_app(app: Flask) -> None:
    app.register_blueprint(api)


def _role() -> str | None:
    return g.user.role if g.get("user") else None


def _username() -> str | None:
    return g.user.username if g.get("user") else None


@api.route("")
@role_required(*READ)
def api_list() -> Response:
    """``?gate=G&open=1``: the console shows the cekal case clock next to a hold."""
    now = now_ms()
    rows = service.list_cases(get_session(), _query(), role=_role(), username=_username())
    return jsonify({"now_ms": now, "cases": [service.case_view(row, now) for row in rows]})


@api.route("", methods=["POST"])
@role_required(*WORK)
def api_open() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("workflow"), str) \
            or not isinstance(body.get("context", {}), dict) or not isinstance(body.get("start_at"), str | None):
        return _json_error(400, "invalid", 'send {"workflow": "<id>", "context": {...}, "start_at": null}')
    session = get_session()
    try:
        row = service.open_case(session, body["workflow"], now_ms=now_ms(), actor=actor(),
                                context={str(k)[:64]: v for k, v in body.get("context", {}).items()},
                                start_at=body.get("start_at"), calendar=calendar())
    except CaseRefused as exc:
        session.rollback()
        return _json_error(403 if "is opened by" in str(exc) else 409, "refused", str(exc))
    session.commit()
    response = jsonify(service.case_view(row, now_ms()))
    response.status_code = 201
    return response


@api.route("/<int:case_id>")
@role_required(*WORK)
def api_detail(case_id: int) -> Response:
    session = get_session()
    row = service.get_case(session, case_id, role=_role(), username=_username())
    view = service.case_view(row, now_ms())
    view["context"] = row.context
    view["history"] = [
        {"step": r.step_id, "actor": r.actor, "role": r.role, "position": r.position, "waited_on": r.waited_on,
         "started_at_ms": service.ms(r.started_at), "completed_at_ms": service.ms(r.completed_at),
         "due_at_ms": service.ms(r.due_at) if r.due_at else None, "standard_s": r.standard_s,
         "within_standard": r.within_standard, "answer": r.answer, "data": r.data,
         "documents": [d for d in r.documents.split(",") if d]}
        for r in service.step_records(session, case_id)
    ]
    view["links"] = [{"kind": link.kind, "target": link.target, "relation": link.relation, "step": link.step_id}
                     for link in service.links_of(session, case_id)]
    return jsonify(view)


@api.route("/<int:case_id>/steps/<step_id>", methods=["POST"])
@role_required(*WORK)
def api_complete(case_id: int, step_id: str) -> Response:
    body: Any = request.get_json(silent=True) or {}
    data = (body.get("data") or {}) if isinstance(body, dict) else None
    answer = body.get("answer") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(answer, str | None):
        return _json_error(400, "invalid", 'send {"answer": "<text>" or null, "data": {...}}')
    session = get_session()
    definition = service.definition_of(service.get_case(session, case_id, role=_role(), username=_username()))
    mine = held()
    step = next((s for s in definition.steps if s.id == step_id), None)
    if step is not None and acting_position(step, mine) is None:
        return _json_error(403, "position", f"step {step_id!r} is for {', '.join(step.positions)}; "
                                            f"you hold {', '.join(sorted(mine)) or 'no position'}")
    try:
        row = service.complete(session, case_id, actor=actor(), step_id=step_id, now_ms=now_ms(), answer=answer,
                               data={str(k)[:64]: v for k, v in data.items()}, calendar=calendar())
    except CaseRefused as exc:
        session.rollback()
        status = 403 if "an approval is taken by someone else" in str(exc) else 409
        return _json_error(status, "refused", str(exc))
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
