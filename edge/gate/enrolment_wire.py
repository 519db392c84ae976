"""The wire format of the gate's enrolment fetch, shared by central and the gate (pure, no I/O).

A gate asks ``GET /api/v1/gate/enrolments/<document_number>[?issuing_state=XXX]`` with three
headers: its id, the time in ms, and an Ed25519 signature by the gate's key over
:func:`request_message` (method, path with query, time, gate id). Central answers
``{"payload": <JSON text>, "signature": <base64>}``: the signature is central's over
:func:`response_message` of the payload text. The payload names the gate and echoes the request
time, so a recorded answer cannot be replayed to another gate or for another request.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from protocol.keys import KeyPair, PublicKey

HEADER_GATE = "X-Autogate-Gate"
HEADER_TIME = "X-Autogate-Time"  # ms since the epoch, the gate's clock
HEADER_SIGNATURE = "X-Autogate-Signature"
GATE_PATH = "/api/v1/gate/enrolments/"
# Clocks of gates and central are NTP-synchronised; a wider window only helps replay.
MAX_SKEW_MS = 30_000
_REQUEST_DOMAIN = b"autogate-enrolment-request-v1\n"
_RESPONSE_DOMAIN = b"autogate-enrolment-response-v1\n"
# Face templates are float32 little-endian unit vectors; the dimension is the model's (SFace 128,
# MobileFaceNet 192), and ``face_model`` says which model made it, so two never get compared.
FACE_DIMS = range(64, 1025)


def face_dim_ok(n_bytes: int) -> bool:
    return n_bytes % 4 == 0 and n_bytes // 4 in FACE_DIMS

_FILLER = re.compile(r"[<\s\-]")


def normalise_document_number(value: str) -> str:
    """The key central stores and the gate asks for: upper case, MRZ filler, spaces and dashes gone."""
    return _FILLER.sub("", value).upper()


def request_message(method: str, target: str, time_ms: int, gate_id: str) -> bytes:
    """What the gate signs; *target* is the path plus ``?query`` when there is one."""
    return _REQUEST_DOMAIN + f"{method.upper()}\n{target}\n{time_ms}\n{gate_id}".encode()


def sign_request(key: KeyPair, method: str, target: str, time_ms: int, gate_id: str) -> dict[str, str]:
    signature = key.sign(request_message(method, target, time_ms, gate_id))
    return {HEADER_GATE: gate_id, HEADER_TIME: str(time_ms), HEADER_SIGNATURE: base64.b64encode(signature).decode()}


def response_message(payload_text: str) -> bytes:
    return _RESPONSE_DOMAIN + payload_text.encode()


def sign_response(key: KeyPair, payload: dict[str, Any]) -> dict[str, str]:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return {"payload": text, "signature": base64.b64encode(key.sign(response_message(text))).decode()}


def verify_response(central: PublicKey, body: dict[str, Any]) -> dict[str, Any] | None:
    """The payload when central's signature over it holds, else None."""
    text, signature = body.get("payload"), body.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        return None
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return None
    if not central.verify(raw, response_message(text)):
        return None
    payload = json.loads(text)
    return payload if isinstance(payload, dict) else None
