"""Enrolments over HTTP.

- ``POST /api/v1/enrolments``: back office and admins enrol one document (issuance workflow) or
  a batch ``{"enrolments": [...]}`` (import, all or nothing); CSRF header as everywhere.
- ``POST /api/v1/enrolments/import?format=jsonl|csv``: the same, the body being the file text.
- ``POST /api/v1/enrolments/<id>/deactivate``: withdraw an enrolment (templates are wiped).
- ``GET /api/v1/enrolments?document_number=..[&issuing_state=..]``: supervisors, officers and
  admins see identities and which templates exist, never the templates themselves.
- ``GET /api/v1/gate/enrolments/<document_number>[?issuing_state=..]``: no login; the gate signs
  the request with its own key (``gate_auth``) and the answer is signed with central's key.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from werkzeug.wrappers import Response

from central.db import get_session
from central.enrolments import gate_auth, importer, service
from central.enrolments.errors import GateRequestRefused
from central.errors import ImportRejected, InvalidRequest
from central.roles import Role, public, role_required
from central.views.common import actor, extension, now_ms
from edge.gate.enrolment_wire import sign_response

log = logging.getLogger(__name__)

WRITE = (Role.ADMIN, Role.BACKOFFICE)
READ = (Role.ADMIN, Role.SUPERVISOR, Role.OFFICER)
MAX_BATCH = 500  # the app caps bodies at 256 KiB anyway; bigger files go through the CLI

api = Blueprint("enrolments_api", __name__, url_prefix="/api/v1/enrolments")
gate_api = Blueprint("enrolments_gate", __name__, url_prefix="/api/v1/gate/enrolments")


def init_app(app: Flask) -> None:
    """Register both blueprints; the table joins ``Base.metadata`` through the import below."""
    import central.enrolments.models  # noqa: F401

    app.register_blueprint(api)
    app.register_blueprint(gate_api)
    app.register_error_handler(GateRequestRefused, _refused)


def _refused(exc: GateRequestRefused) -> Response:
    log.warning("gate enrolment fetch refused: %s (from %s)", exc.reason, request.remote_addr)
    response = jsonify({"error": "unauthorized", "reason": exc.reason})
    response.status_code = 401
    return response


def _rejected(exc: ImportRejected) -> Response:
    response = jsonify({"error": "invalid", "message": str(exc),
                        "errors": [{"row": r, "field": f, "message": m} for r, f, m in exc.errors[:100]]})
    response.status_code = 400
    return response


@api.route("", methods=["POST"])
@role_required(*WRITE)
def enrol() -> Response:
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("a JSON object is required")
    session = get_session()
    if "enrolments" in body:
        items = body["enrolments"]
        if not isinstance(items, list) or len(items) > MAX_BATCH:
            raise InvalidRequest(f"enrolments: a list of at most {MAX_BATCH}")
        try:
            counts = service.import_items(session, enumerate(items, start=1), actor(), source_name="api")
        except ImportRejected as exc:
            session.commit()  # the audit entry of the refusal
            return _rejected(exc)
        session.commit()
        return jsonify(counts)
    row = service.create(session, body, actor(), source="issuance")
    session.commit()
    response = jsonify(service.officer_view(row))
    response.status_code = 201
    return response


@api.route("/import", methods=["POST"])
@role_required(*WRITE)
def import_file() -> Response:
    text = request.get_data(as_text=True)
    fmt = request.args.get("format") or importer.guess_format("", text)
    if fmt not in ("jsonl", "csv"):
        raise InvalidRequest("format must be jsonl or csv")
    session = get_session()
    try:
        counts = service.import_items(session, importer.read(text, fmt), actor(), source_name=f"api-{fmt}")
    except ImportRejected as exc:
        session.commit()
        return _rejected(exc)
    session.commit()
    return jsonify(counts)


@api.route("/<int:enrolment_id>/deactivate", methods=["POST"])
@role_required(*WRITE)
def deactivate(enrolment_id: int) -> Response:
    body = request.get_json(silent=True) or {}
    reason = str(body.get("reason", "")).strip() if isinstance(body, dict) else ""
    if not reason:
        raise InvalidRequest("reason: required")
    session = get_session()
    row = service.deactivate(session, enrolment_id, actor(), reason)
    session.commit()
    return jsonify(service.officer_view(row))


@api.route("", methods=["GET"])
@role_required(*READ)
def by_document() -> Response:
    number = request.args.get("document_number", "")
    if not number or len(number) > 40:
        raise InvalidRequest("document_number: required")
    rows = service.lookup(get_session(), number, request.args.get("issuing_state") or None)
    return jsonify({"enrolments": [service.officer_view(r) for r in rows]})


@gate_api.route("/<document_number>", methods=["GET"])
@public  # no officer login: the gate's Ed25519 signature authenticates it (gate_auth)
def gate_fetch(document_number: str) -> Response:
    from central.app import EXT_KEY

    query = request.query_string.decode("ascii", "replace")
    target = request.path + (f"?{query}" if query else "")
    session = get_session()
    gate_id, request_ms = gate_auth.authenticate(session, request.headers, request.method, target, now_ms())
    issuing_state = request.args.get("issuing_state") or None
    rows = service.lookup(session, document_number, issuing_state) if len(document_number) <= 40 else []
    payload = {
        "gate_id": gate_id,
        "request_ms": request_ms,
        "issued_ms": now_ms(),
        "document_number": document_number,
        "issuing_state": issuing_state,
        "enrolments": [service.gate_view(r) for r in rows],
    }
    log.debug("gate %s enrolment fetch: %d found", gate_id, len(rows))  # no document number in logs
    response = jsonify(sign_response(extension(EXT_KEY), payload))
    response.status_code = 200 if rows else 404
    return response
