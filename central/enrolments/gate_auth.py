"""Authenticate a gate's signed enrolment request (pure apart from the gate-table read).

The gate signs method, path+query, time and its id with its own Ed25519 key (the one central
already holds in ``central.models.Gate`` for its MQTT messages). Central refuses unknown gates,
bad signatures and times more than ``MAX_SKEW_MS`` away from its clock. A replay inside that
window only re-reads what the same gate may read anyway, and the answer is bound to the gate.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from sqlalchemy.orm import Session

from central.enrolments.errors import GateRequestRefused
from central.models import Gate
from edge.gate.enrolment_wire import (
    HEADER_GATE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    MAX_SKEW_MS,
    request_message,
)
from protocol.keys import PublicKey


def authenticate(session: Session, headers: Mapping[str, str], method: str, target: str, now_ms: int) -> tuple[str, int]:
    """The gate id and its request time, or GateRequestRefused with a reason safe to return."""
    gate_id = headers.get(HEADER_GATE)
    time_text = headers.get(HEADER_TIME)
    signature_text = headers.get(HEADER_SIGNATURE)
    if not gate_id or not time_text or not signature_text:
        raise GateRequestRefused("unsigned")
    try:
        time_ms = int(time_text)
        signature = base64.b64decode(signature_text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise GateRequestRefused("malformed") from exc
    if abs(now_ms - time_ms) > MAX_SKEW_MS:
        raise GateRequestRefused("stale")
    gate = session.get(Gate, gate_id) if len(gate_id) <= 64 else None
    if gate is None:
        raise GateRequestRefused("unknown gate")
    try:
        key = PublicKey.from_b64(gate.public_key)
    except ValueError as exc:
        raise GateRequestRefused("gate key unusable") from exc
    if not key.verify(signature, request_message(method, target, time_ms, gate_id)):
        raise GateRequestRefused("bad signature")
    return gate_id, time_ms
