"""Gate registry and the live view of gates the console shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import InvalidRequest, NotFound
from central.models import Gate, as_utc
from protocol.keys import PublicKey
from protocol.messages import Direction, GateId

_gate_id = TypeAdapter(GateId)


def add_gate(session: Session, gate_id: str, *, public_key_b64: str, direction: str, name: str = "") -> Gate:
    """Register a gate, or rotate the key of an existing one (the caller commits)."""
    try:
        _gate_id.validate_python(gate_id)
    except ValidationError as exc:
        raise InvalidRequest(f"invalid gate id {gate_id!r}") from exc
    try:
        PublicKey.from_b64(public_key_b64)
    except ValueError as exc:
        raise InvalidRequest("public key must be base64 of 32 raw Ed25519 bytes") from exc
    try:
        direction_value = Direction(direction).value
    except ValueError as exc:
        raise InvalidRequest(f"direction must be one of {', '.join(Direction)}") from exc
    gate = session.get(Gate, gate_id)
    if gate is None:
        gate = Gate(id=gate_id, last_seq=0, online=False, state_sent_ms=0, health_sent_ms=0)
        session.add(gate)
    gate.public_key = public_key_b64
    gate.direction = direction_value
    gate.name = name or gate.name or gate_id
    return gate


def register_gate(session: Session, gate_id: str, *, public_key_b64: str, direction: str, name: str = "") -> Gate:
    """A new gate only (the administration page): an existing id is refused, so a typo cannot
    silently replace a working gate's key; rotation is its own action."""
    if session.get(Gate, gate_id) is not None:
        raise InvalidRequest(f"gate {gate_id!r} is already registered; rotate its key instead")
    return add_gate(session, gate_id, public_key_b64=public_key_b64, direction=direction, name=name)


def rotate_key(session: Session, gate_id: str, public_key_b64: str) -> tuple[str, str]:
    """Replace a gate's verifying key; returns the (old, new) fingerprints. Ingest re-reads the
    key the first time a message no longer verifies with the cached one."""
    gate = get_gate(session, gate_id)
    try:
        PublicKey.from_b64(public_key_b64)
    except ValueError as exc:
        raise InvalidRequest("public key must be base64 of 32 raw Ed25519 bytes") from exc
    if public_key_b64 == gate.public_key:
        raise InvalidRequest("that is the key the gate already has")
    old = key_fingerprint(gate.public_key)
    gate.public_key = public_key_b64
    return old, key_fingerprint(public_key_b64)


def key_fingerprint(public_key_b64: str) -> str:
    """A short, comparable name for a key (first 16 hex digits of its SHA-256)."""
    import hashlib

    return hashlib.sha256(public_key_b64.encode("ascii", "replace")).hexdigest()[:16]


def get_gate(session: Session, gate_id: str) -> Gate:
    gate = session.get(Gate, gate_id)
    if gate is None:
        raise NotFound(f"no gate {gate_id!r}")
    return gate


def list_gates(session: Session) -> list[Gate]:
    return list(session.scalars(select(Gate).order_by(Gate.id)))


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def gate_view(gate: Gate, now_ms: int) -> dict[str, Any]:
    """What a supervisor sees of one gate (sop §8): state, doors, time in state, traveller."""
    state = gate.state or {}
    traveler = state.get("traveler") or {}
    since_ms = state.get("since_ms")
    return {
        "id": gate.id,
        "name": gate.name,
        "direction": gate.direction,
        "online": gate.online,
        "last_seen_at": _iso(gate.last_seen_at),
        "last_seq": gate.last_seq,
        "state": state.get("state"),
        "entry_door": state.get("entry_door"),
        "exit_door": state.get("exit_door"),
        "time_in_state_s": max(0, (now_ms - since_ms) // 1000) if isinstance(since_ms, int) else None,
        "transaction_id": state.get("transaction_id"),
        "alarm": state.get("alarm"),
        "retries": state.get("retries"),
        "traveler": (
            {
                "name": " ".join(p for p in (traveler.get("given_names"), traveler.get("surname")) if p),
                "document_number": traveler.get("document_number"),
                "nationality": traveler.get("nationality"),
            }
            if traveler
            else None
        ),
        "watchlist_version": gate.watchlist_version,
    }
