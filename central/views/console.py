"""The supervisor console (pengawas autogate): gates live, alerts, latest crossings.

The page is plain HTML. ``console.js`` listens on :func:`stream` (server-sent events: each
alert and gate change as ingest commits it) and redraws from :func:`live`; without an open
stream it polls :func:`live` every two seconds instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from central.db import Database, get_database, get_session
from central.events import EventBus, Notice
from central.i18n import current_language, strings_for
from central.i18n_table import CONSOLE_SCRIPT_STRINGS
from central.models import Alert, CommandRecord, Crossing, FaceEvidenceRecord, Gate
from central.roles import Role, role_required
from central.services import alerts, commands, crossings, gates
from central.views.common import actor, extension, now_ms

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console")

POLL_INTERVAL_MS = 2000
# With the stream open the page still re-reads everything now and then, to heal a lost notice.
STREAM_RESYNC_MS = 30000
# A comment line, so a vanished browser is noticed (its next write fails) and its slot freed.
HEARTBEAT_S = 5.0
# Each open stream holds one web server thread: end it now and then, EventSource reconnects.
STREAM_MAX_S = 300.0
RECONNECT_MS = 2000

# The nine fields of the document scan (SOP tpi-01), in the order officers read them.
MRZ_FIELDS = (
    "document_number",
    "document_type",
    "issuing_state",
    "surname",
    "given_names",
    "nationality",
    "birth_date",
    "sex",
    "expiry_date",
)


@bp.route("")
@role_required(Role.SUPERVISOR, Role.ADMIN)
def page() -> str:
    return render_template(
        "console.html",
        poll_interval_ms=POLL_INTERVAL_MS,
        resync_ms=STREAM_RESYNC_MS,
        # "</" escaped: the table sits in a <script type="application/json"> block.
        script_strings=json.dumps(strings_for(CONSOLE_SCRIPT_STRINGS, current_language())).replace("</", "<\\/"),
        mrz_fields=MRZ_FIELDS,
    )


def console_gate_view(gate: Gate, now: int, session: Session | None = None) -> dict[str, Any]:
    """The API's gate view plus the traveller's nine MRZ fields, which the supervisor needs to
    judge a hold or a retry (sop §8), the commands the gate accepts now, the gate's answer to the
    last command, and whether face images wait for this transaction; the console is for
    supervisors only."""
    view = _gate_view(gate, now)
    if session is not None:
        view["last_command"] = _last_command(session, gate.id)
        view["faces"] = _has_faces(session, gate.id, (gate.state or {}).get("transaction_id"))
    return view


def console_gate_views(session: Session, rows: list[Gate], now: int) -> list[dict[str, Any]]:
    """:func:`console_gate_view` for every gate in three queries, not two per gate: the live view
    is the console's most frequent request, and each query is a round trip to the database
    (on a loaded machine 40 of them made it the slowest page)."""
    last = _last_commands(session, [g.id for g in rows])
    pending = {(g.id, (g.state or {}).get("transaction_id")) for g in rows if (g.state or {}).get("transaction_id")}
    with_faces = _transactions_with_faces(session, pending)
    views = []
    for gate in rows:
        view = _gate_view(gate, now)
        view["last_command"] = last.get(gate.id)
        view["faces"] = (gate.id, (gate.state or {}).get("transaction_id")) in with_faces
        views.append(view)
    return views


def _gate_view(gate: Gate, now: int) -> dict[str, Any]:
    view = gates.gate_view(gate, now)
    state = gate.state or {}
    traveler = state.get("traveler") or None
    view["mrz"] = {name: traveler.get(name) for name in MRZ_FIELDS} if traveler else None
    view["commands"] = list(state.get("commands") or [])
    return view


def _last_commands(session: Session, gate_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not gate_ids:
        return {}
    newest = (select(func.max(CommandRecord.id)).where(CommandRecord.gate_id.in_(gate_ids))
              .group_by(CommandRecord.gate_id))
    return {r.gate_id: commands.command_view(r) for r in session.scalars(select(CommandRecord).where(CommandRecord.id.in_(newest)))}


def _transactions_with_faces(session: Session, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    if not pairs:
        return set()
    found = session.execute(select(FaceEvidenceRecord.gate_id, FaceEvidenceRecord.transaction_id).where(
        tuple_(FaceEvidenceRecord.gate_id, FaceEvidenceRecord.transaction_id).in_(sorted(pairs))).distinct())
    return {(g, t) for g, t in found}


def _last_command(session: Session, gate_id: str) -> dict[str, Any] | None:
    record = session.scalars(
        select(CommandRecord).where(CommandRecord.gate_id == gate_id).order_by(CommandRecord.id.desc()).limit(1)
    ).first()
    return commands.command_view(record) if record is not None else None


def _has_faces(session: Session, gate_id: str, transaction_id: str | None) -> bool:
    if not transaction_id:
        return False
    found = session.scalar(select(FaceEvidenceRecord.id).where(
        FaceEvidenceRecord.gate_id == gate_id, FaceEvidenceRecord.transaction_id == transaction_id).limit(1))
    return found is not None


def live_view_from(session: Session, now: int) -> dict[str, Any]:
    return {
        "now_ms": now,
        "gates": console_gate_views(session, gates.list_gates(session), now),
        "alerts": [alerts.alert_view(a) for a in alerts.list_alerts(session, limit=50)],
        "crossings": [crossings.crossing_view(c) for c in crossings.search(session, crossings.CrossingQuery(limit=20))],
    }


def live_view() -> dict[str, Any]:
    return live_view_from(get_session(), now_ms())


@bp.route("/live")
@role_required(Role.SUPERVISOR, Role.ADMIN)
def live() -> Response:
    return jsonify(live_view())


def notice_events(session: Session, notice: Notice, now: int) -> list[tuple[str, dict[str, Any]]]:
    """What one committed message means for the console: the alerts it raised or answered first
    (they are the urgent part), then the gate's new view, then a crossing it recorded."""
    out: list[tuple[str, dict[str, Any]]] = []
    if notice.message_id is not None:
        raised = session.scalars(select(Alert).where(Alert.source_message_id == notice.message_id).order_by(Alert.id))
        out.extend(("alert", alerts.alert_view(a)) for a in raised)
        answered = session.scalars(
            select(Alert).where(Alert.answered_by_message_id == notice.message_id).order_by(Alert.id))
        out.extend(("alert", alerts.alert_view(a)) for a in answered)
    gate = session.get(Gate, notice.gate_id)
    if gate is not None:
        out.append(("gate", console_gate_view(gate, now, session)))
    if notice.message_id is not None and notice.channel == "events":
        crossing = session.scalar(select(Crossing).where(Crossing.message_id == notice.message_id))
        if crossing is not None:
            out.append(("crossing", crossings.crossing_view(crossing)))
    return out


def sse_frame(event: str, data: dict[str, Any]) -> str:
    # json.dumps never emits a raw newline, so the data always fits one "data:" line.
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def stream_frames(
    database: Database,
    subscription: Any,
    clock_ms: Callable[[], int],
    *,
    heartbeat_s: float = HEARTBEAT_S,
    max_s: float = STREAM_MAX_S,
) -> Iterator[str]:
    """The event stream body. The subscription exists before the first frame is sent, so a
    client that has read the first frame misses no later commit."""
    try:
        yield f"retry: {RECONNECT_MS}\n: connected\n\n"
        deadline = time.monotonic() + max_s
        while time.monotonic() < deadline:
            notice = subscription.get(heartbeat_s)
            if subscription.closed:
                return  # the server is shutting down (LocalBus.close_subscriptions)
            if notice is None:
                yield ": ping\n\n"
                continue
            with database.session() as session:
                frames = [sse_frame(name, data) for name, data in notice_events(session, notice, clock_ms())]
            yield from frames
    finally:
        subscription.close()


@bp.route("/stream")
@role_required(Role.SUPERVISOR, Role.ADMIN)
def stream() -> Response:
    """Server-sent events: ``alert``, ``gate`` and ``crossing``, each a JSON object."""
    from central.app import EXT_BUS, EXT_CLOCK

    from central import streams

    # Under waitress each open stream holds a thread: past the limit, a 503 the page answers by
    # polling (and retrying the stream later), so /healthz and pages always find a thread.
    release = streams.slots().take()
    if release is None:
        return streams.refuse()
    bus: EventBus = extension(EXT_BUS)
    clock = extension(EXT_CLOCK)
    subscription = bus.subscribe()
    body = stream_frames(get_database(), subscription, lambda: int(clock() * 1000))
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold the frames back
    response.call_on_close(subscription.close)  # also when the body was never iterated
    response.call_on_close(release)
    log.info("console stream opened by %s", actor().username)
    return response


@bp.route("/alerts/<int:alert_id>/ack", methods=["POST"])
@role_required(Role.SUPERVISOR, Role.ADMIN)
def acknowledge_alert(alert_id: int) -> Response:
    """Form fallback for the acknowledge button (the script posts JSON to the API)."""
    session = get_session()
    alerts.acknowledge(session, alert_id, actor(), request.form.get("note", ""))
    session.commit()
    return redirect(url_for("console.page"))
