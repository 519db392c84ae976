"""The supervisor console (pengawas autogate): gates live, alerts, latest crossings.

The page is plain HTML; ``console.js`` polls :func:`live` every two seconds and redraws.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from central.db import get_session
from central.roles import Role, role_required
from central.services import alerts, crossings, gates
from central.views.common import actor, now_ms

bp = Blueprint("console", __name__, url_prefix="/console")

POLL_INTERVAL_MS = 2000


@bp.route("")
@role_required(Role.SUPERVISOR, Role.ADMIN)
def page() -> str:
    return render_template("console.html", poll_interval_ms=POLL_INTERVAL_MS)


def live_view() -> dict[str, Any]:
    session = get_session()
    now = now_ms()
    return {
        "now_ms": now,
        "gates": [gates.gate_view(gate, now) for gate in gates.list_gates(session)],
        "alerts": [alerts.alert_view(a) for a in alerts.list_alerts(session, limit=50)],
        "crossings": [crossings.crossing_view(c) for c in crossings.search(session, crossings.CrossingQuery(limit=20))],
    }


@bp.route("/live")
@role_required(Role.SUPERVISOR, Role.ADMIN)
def live() -> Response:
    return jsonify(live_view())


@bp.route("/alerts/<int:alert_id>/ack", methods=["POST"])
@role_required(Role.SUPERVISOR, Role.ADMIN)
def acknowledge_alert(alert_id: int) -> Response:
    """Form fallback for the acknowledge button (the script posts JSON to the API)."""
    session = get_session()
    alerts.acknowledge(session, alert_id, actor(), request.form.get("note", ""))
    session.commit()
    return redirect(url_for("console.page"))
