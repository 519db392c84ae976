"""JSON API under ``/api/v1``; every route names its roles. State changes need the CSRF header."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.wrappers import Response

from central import csrf
from central.db import get_session
from central.errors import InvalidRequest, NotFound
from central.models import as_utc
from central.roles import Role, authenticated, role_required
from central.services import alerts, audit, commands, crossings, face_evidence, gates
from central.services.stats import daily_recap, gate_statistics
from central.services.stats import stats as compute_stats
from central.views.common import actor, extension, now_ms
from central.security.limits import Day

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Personal data (crossings, travellers on gates) is for operational roles only.
OPERATIONS = (Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE)
REPORTING = (*OPERATIONS, Role.REPORT_ONLY)


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidRequest(f"{where}: {first.get('msg')}") from exc


@bp.route("/me")
@authenticated
def me() -> Response:
    from flask import g

    return jsonify({"username": g.user.username, "role": g.user.role, "csrf_token": csrf.csrf_token()})


@bp.route("/gates")
@role_required(*OPERATIONS)
def list_gates() -> Response:
    now = now_ms()
    return jsonify({"gates": [gates.gate_view(g, now) for g in gates.list_gates(get_session())]})


@bp.route("/gates/<gate_id>")
@role_required(*OPERATIONS)
def get_gate(gate_id: str) -> Response:
    return jsonify(gates.gate_view(gates.get_gate(get_session(), gate_id), now_ms()))


@bp.route("/crossings")
@role_required(*OPERATIONS)
def search_crossings() -> Response:
    query = _parse(crossings.CrossingQuery, request.args.to_dict())
    rows = crossings.search(get_session(), query)
    return jsonify({"crossings": [crossings.crossing_view(c) for c in rows], "limit": query.limit, "offset": query.offset})


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unacknowledged: bool = False
    gate: Annotated[str, Field(max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


@bp.route("/alerts")
@role_required(Role.ADMIN, Role.SUPERVISOR, Role.OFFICER)
def list_alerts() -> Response:
    query = _parse(AlertQuery, request.args.to_dict())
    rows = alerts.list_alerts(get_session(), unacknowledged_only=query.unacknowledged, gate_id=query.gate, limit=query.limit)
    return jsonify({"alerts": [alerts.alert_view(a) for a in rows]})


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=500)] = ""


@bp.route("/alerts/<int:alert_id>/ack", methods=["POST"])
@role_required(Role.ADMIN, Role.SUPERVISOR)
def acknowledge_alert(alert_id: int) -> Response:
    body = _parse(AckRequest, request.get_json(silent=True) or {})
    session = get_session()
    alert = alerts.acknowledge(session, alert_id, actor(), body.note)
    session.commit()
    return jsonify(alerts.alert_view(alert))


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gate_id: Annotated[str, Field(min_length=1, max_length=64)]
    action: Annotated[str, Field(min_length=1, max_length=32)]
    reason: Annotated[str, Field(min_length=3, max_length=500)]
    transaction_id: Annotated[str, Field(max_length=64)] | None = None


@bp.route("/commands", methods=["POST"])
@role_required(Role.SUPERVISOR)
def issue_command() -> Response:
    from central.app import EXT_KEY, EXT_PUBLISHER, EXT_SETTINGS

    body = _parse(CommandRequest, request.get_json(silent=True) or {})
    record = commands.issue_command(
        get_session(),
        key=extension(EXT_KEY),
        publisher=extension(EXT_PUBLISHER),
        gate_id=body.gate_id,
        action=body.action,
        reason=body.reason,
        actor=actor(),
        now_ms=now_ms(),
        ttl_s=extension(EXT_SETTINGS).command_ttl_s,
        transaction_id=body.transaction_id,
    )
    response = jsonify(commands.command_view(record))
    response.status_code = 202  # sent; the gate's ack arrives later
    return response


@bp.route("/commands")
@role_required(Role.ADMIN, Role.SUPERVISOR)
def list_commands() -> Response:
    gate_id = request.args.get("gate")
    return jsonify({"commands": [commands.command_view(c) for c in commands.list_commands(get_session(), gate_id=gate_id)]})


@bp.route("/metrics")
@role_required(Role.ADMIN, Role.SUPERVISOR)
def metrics() -> Response:
    from central.app import EXT_METRICS

    return jsonify({"ingest": extension(EXT_METRICS).snapshot()})


@bp.route("/stats")
@role_required(*REPORTING)
def stats() -> Response:
    return jsonify(compute_stats(get_session()))


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=1000)] = 100


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit_log() -> Response:
    query = _parse(AuditQuery, request.args.to_dict())
    entries = audit.latest(get_session(), limit=query.limit)
    return jsonify(
        {
            "entries": [
                {
                    "at": as_utc(e.at).isoformat() if e.at else None,  # ISO with its offset
                    "username": e.username,
                    "role": e.role,
                    "action": e.action,
                    "target": e.target,
                    "details": e.details,
                    "ip": e.ip,
                }
                for e in entries
            ]
        }
    )


@bp.route("/gates/<gate_id>/faces/<transaction_id>")
@role_required(Role.ADMIN, Role.SUPERVISOR)
def gate_faces(gate_id: str, transaction_id: str) -> Response:
    """The captured face beside the enrolled one, for the supervisor's retry decision (sop §8).

    Gates send them only for a failed face step; central keeps them 24 h. The answer is
    ``{"captured": <data URL>, "enrolled": <data URL or null>, "enrolled_source", "score",
    "threshold", "refused_reason", "received_at", "expires_at"}``; each view is audited.
    """
    session = get_session()
    gates.get_gate(session, gate_id)  # an unknown gate is 404 too, with its own message
    return jsonify(face_evidence.view_faces(session, gate_id, transaction_id, actor()))


class DailyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Day | None = None


@bp.route("/reports/daily")
@role_required(*REPORTING)
def daily_report() -> Response:
    from central.views.reports import today_wib

    query = _parse(DailyQuery, request.args.to_dict())
    return jsonify(daily_recap(get_session(), query.day or today_wib()))


@bp.route("/stats/gates")
@role_required(*REPORTING)
def gate_stats() -> Response:
    from central.views.reports import RangeQuery, today_wib

    query = _parse(RangeQuery, request.args.to_dict())
    date_from, date_to = query.bounds(today_wib())
    return jsonify(gate_statistics(get_session(), date_from, date_to))


@bp.route("/openapi.json")
@authenticated
def openapi() -> Response:
    """This API described as OpenAPI 3.1, built from the app's routes; each operation names the
    roles that may call it (``x-roles``)."""
    from flask import current_app

    from central.views.apidoc import build_openapi

    return jsonify(build_openapi(current_app))
