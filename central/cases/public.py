"""What the public reaches without an officer's login:

- ``/status``: an application's status by its number (the number is unguessable: 40 random bits);
- ``/api/v1/gateway/messages``: the SMS/WhatsApp provider's webhook (it-06b steps 4-5): a status
  query answered in the reply, both logged; ``/api/v1/gateway/receipts``: delivery statuses.
  Each call is signed by the provider (HMAC-SHA256, ``X-Gateway-Signature``), so no session;
- ``/receptionist``: the digital receptionist (it-07) as a menu tree walkable over HTTP. A call is
  an it-07 case whose steps the system takes as the caller walks; asking for the operator leaves
  the case at the operator's step, on customer service's page of work.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from central import csrf
from central.cases import gateway, service
from central.cases.errors import CaseRefused
from central.cases.models import Case, GatewayMessage
from central.db import get_session
from central.i18n import current_language
from central.models import from_ms, utcnow
from central.roles import public
from central.services.audit import Actor
from central.views.common import now_ms

log = logging.getLogger(__name__)

RECEPTIONIST = "it-07-digital-voip-receptionist"
SYSTEM = frozenset({"system"})
CALL_IDLE = timedelta(minutes=15)  # a call left longer at a caller's step has hung up
MENU_FILE = Path(__file__).with_name("receptionist_menu.json")

bp = Blueprint("public", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


# ------------------------------------------------------------------ status page


@bp.route("/status")
@public
def status_page() -> str:
    reference = (request.args.get("reference") or "").strip().upper()[:32]
    result = None
    if reference:
        row = service.by_reference(get_session(), reference)
        if row is not None:
            result = gateway.public_status(service.definition_of(row), service.state_of(row), row.reference or "")
        log.info("status page: %s %s", "found" if result else "not found", reference[:8])
    return render_template("public/status.html", reference=reference, result=result, language=current_language())


# ------------------------------------------------------------------ SMS / WhatsApp gateway (it-06b)


def _secret() -> bytes | None:
    from central.app import EXT_SETTINGS

    secret = current_app.extensions[EXT_SETTINGS].office.gateway_secret
    return secret.get_secret_value().encode() if secret else None


def _verified_body() -> dict[str, Any] | Response:
    secret = _secret()
    if secret is None:
        return _json(503, {"error": "not_configured", "message": "the gateway secret is not set"})
    body = request.get_data()
    if not gateway.signature_ok(secret, body, request.headers.get("X-Gateway-Signature")):
        log.warning("gateway webhook: bad signature from %s", request.remote_addr)
        return _json(401, {"error": "unauthorized", "message": "bad or missing X-Gateway-Signature"})
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(400, {"error": "invalid", "message": "a JSON object is required"})
    return data


@bp.route("/api/v1/gateway/messages", methods=["POST"])
@public  # the provider signs each call (X-Gateway-Signature); no officer session
@csrf.exempt
def gateway_message() -> Response:
    data = _verified_body()
    if isinstance(data, Response):
        return data
    sender, text = data.get("from"), data.get("text")
    channel = data.get("channel", "whatsapp")
    if not isinstance(sender, str) or not isinstance(text, str) or channel not in ("whatsapp", "sms"):
        return _json(400, {"error": "invalid", "message": 'send {"from": "+62...", "text": "...", "channel": "whatsapp"|"sms"}'})
    session = get_session()
    query = gateway.parse_message(text)
    row = service.by_reference(session, query.reference) if query.reference else None
    status = gateway.public_status(service.definition_of(row), service.state_of(row), row.reference or "") if row else None
    reply = gateway.reply_for(query, status)
    session.add(GatewayMessage(direction="in", channel=channel, address=sender[:200], text=text[:2000], status="received",
                               provider_id=str(data.get("id"))[:100] if data.get("id") else None,
                               case_id=row.id if row else None))
    outgoing = GatewayMessage(direction="out", channel=channel, address=sender[:200], text=reply, status="replied",
                              case_id=row.id if row else None, status_at=utcnow())
    session.add(outgoing)
    session.commit()
    log.info("gateway: %s query answered (%s)", query.kind, "found" if row else "no case")
    return jsonify({"reply": reply, "message_id": outgoing.id})


@bp.route("/api/v1/gateway/receipts", methods=["POST"])
@public  # signed by the provider, as above
@csrf.exempt
def gateway_receipt() -> Response:
    data = _verified_body()
    if isinstance(data, Response):
        return data
    status = data.get("status")
    if status not in ("sent", "delivered", "read", "failed") or not (data.get("id") or data.get("message_id")):
        return _json(400, {"error": "invalid", "message": 'send {"id": provider id or "message_id": ours, "status": ...}'})
    session = get_session()
    message = None
    if data.get("message_id"):
        message = session.get(GatewayMessage, int(data["message_id"])) if str(data["message_id"]).isdigit() else None
    if message is None and data.get("id"):
        message = session.scalar(select(GatewayMessage).where(GatewayMessage.provider_id == str(data["id"])[:100],
                                                             GatewayMessage.direction == "out"))
    if message is None:
        return _json(404, {"error": "not_found", "message": "no such outgoing message"})
    message.status, message.status_at = status, utcnow()
    message.error = str(data.get("error", ""))[:500] or None
    session.commit()
    return jsonify({"ok": True})


def _json(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


# ------------------------------------------------------------------ digital receptionist (it-07)


@lru_cache(maxsize=1)
def menu() -> dict[str, Any]:
    return json.loads(MENU_FILE.read_text(encoding="utf-8"))


def _extension(key: str) -> dict[str, Any] | None:
    return next((e for e in menu()["extensions"] if e["key"] == key), None)


def _call(reference: str) -> Case:
    row = service.by_reference(get_session(), reference)
    if row is None or row.workflow_id != RECEPTIONIST:
        abort(404)
    return row


def _system_step(row: Case, step_id: str, **kwargs: Any) -> None:
    service.complete(get_session(), row.id, actor=Actor("receptionist", None), step_id=step_id, now_ms=now_ms(),
                     positions=SYSTEM, **kwargs)


def _hang_up_idle_calls() -> None:
    """Calls left at a caller's step longer than CALL_IDLE were hung up: close them as such."""
    session = get_session()
    cutoff = from_ms(now_ms()) - CALL_IDLE
    for row in session.scalars(select(Case).where(Case.workflow_id == RECEPTIONIST, Case.status == "open",
                                                  Case.current_since < cutoff,
                                                  Case.current_step.in_(("choose", "fulfilled", "choose_operator")))):
        service.withdraw(session, row.id, actor=Actor("receptionist", None), now_ms=now_ms(), reason="the caller hung up")


@bp.route("/receptionist", methods=["GET"])
@public
def receptionist() -> str:
    return render_template("public/receptionist.html", menu=menu(), call=None, node="start", language=current_language())


@bp.route("/receptionist/calls", methods=["POST"])
@public
def receptionist_call() -> Response:
    """The call connects: the receptionist answers and offers the extensions (steps 1-2)."""
    session = get_session()
    _hang_up_idle_calls()
    row = service.open_case(session, RECEPTIONIST, now_ms=now_ms(), actor=Actor("receptionist", None),
                            context={"source": "receptionist", "channel": "web"})
    _system_step(row, "connect")
    _system_step(row, "greet")
    session.commit()
    return redirect(url_for("public.receptionist_node", reference=row.reference))


@bp.route("/receptionist/calls/<reference>", methods=["GET"])
@public
def receptionist_node(reference: str) -> Any:
    row = _call(reference)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(_node_json(row))
    extension = _extension(str(row.context.get("extension", ""))) if row.current_step == "fulfilled" else None
    return render_template("public/receptionist.html", menu=menu(), call=row, node=row.current_step or "ended",
                           extension=extension, language=current_language())


def _node_json(row: Case) -> dict[str, Any]:
    language = "id" if current_language() == "id" else "en"
    body: dict[str, Any] = {"call": row.reference, "step": row.current_step, "status": row.status, "outcome": row.outcome}
    if row.current_step == "choose":
        body["prompt"] = menu()[f"greeting_{language}"]
        body["options"] = [{"key": e["key"], "label": e[f"label_{language}"]} for e in menu()["extensions"]] \
            + [{"key": "0", "label": "Operator"}]
    elif row.current_step == "fulfilled":
        extension = _extension(str(row.context.get("extension", "")))
        body["info"] = extension[f"info_{language}"] if extension else ""
        body["options"] = [{"key": "yes", "label": "Answered"}, {"key": "no", "label": "Operator"}]
    return body


@bp.route("/receptionist/calls/<reference>/press", methods=["POST"])
@public
def receptionist_press(reference: str) -> Response:
    """The caller presses a key: an extension (steps 3-4), whether it answered (5), the operator (6-7)."""
    session = get_session()
    row = _call(reference)
    key = (request.form.get("key") or (request.get_json(silent=True) or {}).get("key") or "").strip()[:8]
    try:
        if row.current_step == "choose" and _extension(key):
            row.context = {**row.context, "extension": key}
            row.state = {**row.state, "context": row.context}
            _system_step(row, "choose", data={"extension": key})
            _system_step(row, "inform")
        elif row.current_step == "choose" and key == "0":
            _system_step(row, "choose", data={"extension": "0"})
            _system_step(row, "inform")
            _system_step(row, "fulfilled", answer="no")
        elif row.current_step == "fulfilled" and key in ("yes", "no"):
            _system_step(row, "fulfilled", answer=key)
        elif row.current_step == "choose_operator":
            _system_step(row, "choose_operator")
        elif row.current_step == "explain":
            question = (request.form.get("question") or (request.get_json(silent=True) or {}).get("question") or "").strip()
            phone = (request.form.get("phone") or "").strip()[:32]
            if phone:
                row.context = {**row.context, "applicant_phone": phone}
                row.state = {**row.state, "context": row.context}
            _system_step(row, "explain", data={"question": question[:1000]})
        else:
            abort(400)
    except CaseRefused as exc:
        session.rollback()
        log.info("receptionist call %s: %s", reference, exc)
        abort(400)
    session.commit()
    if request.is_json:
        return jsonify(_node_json(row))
    return redirect(url_for("public.receptionist_node", reference=reference))
