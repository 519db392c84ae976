"""``/healthz``: unauthenticated liveness for load balancers; counts only, nothing personal."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from central.db import get_session
from central.roles import public
from central.views.common import extension

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def _ingest_state(answer: bool | str) -> str:
    """The ingest service answers a state word (``ok``, ``disconnected``, ``stopped``, ``stuck``);
    a plain bool is accepted from simpler hosts."""
    if isinstance(answer, str):
        return answer
    return "ok" if answer else "disconnected"


@bp.route("/healthz")
@public
def healthz() -> Response:
    from central.app import EXT_INGEST_HEALTH, EXT_METRICS

    try:
        get_session().execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as exc:
        log.warning("healthz: database unreachable (%s)", type(exc).__name__)
        database = "unreachable"
    ingest_health = extension(EXT_INGEST_HEALTH)
    ingest = None if ingest_health is None else _ingest_state(ingest_health())
    healthy = database == "ok" and ingest in (None, "ok")
    response = jsonify(
        {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "ingest": ingest or "not_running",
            "ingest_counters": extension(EXT_METRICS).snapshot(),
        }
    )
    response.status_code = 200 if healthy else 503
    return response
