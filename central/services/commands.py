"""Supervisor commands to gates: signed by central, expiring, recorded and audited first.

Order matters: the record and its audit entry are committed before the command is published,
so no command reaches a gate without a trace; a publish failure marks the record ``not_sent``.
The gate answers with a CommandAck on its events topic, which ingest writes onto the record.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import CommandNotSent, InvalidRequest
from central.models import CommandRecord, as_utc, from_ms
from central.services import audit
from central.services.gates import get_gate
from protocol.envelope import CENTRAL_SENDER, seal
from protocol.keys import KeyPair
from protocol.messages import Command, CommandAction
from protocol.topics import gate_commands

log = logging.getLogger(__name__)

MIN_REASON_LENGTH = 3


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, timeout_s: float = 5.0) -> None: ...


def issue_command(
    session: Session,
    *,
    key: KeyPair,
    publisher: Publisher | None,
    gate_id: str,
    action: str,
    reason: str,
    actor: audit.Actor,
    now_ms: int,
    ttl_s: int = 30,
    transaction_id: str | None = None,
    from_seq: int | None = None,
    to_seq: int | None = None,
) -> CommandRecord:
    """Record, audit, sign and publish one command; commits the session (twice)."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidRequest("a command needs a reason")
    try:
        action_value = CommandAction(action)
    except ValueError as exc:
        raise InvalidRequest(f"unknown action {action!r}; one of {', '.join(CommandAction)}") from exc
    gate = get_gate(session, gate_id)
    if not actor.username:
        raise InvalidRequest("a command needs an issuing officer")
    expires_at_ms = now_ms + ttl_s * 1000
    command = Command(
        command_id=uuid.uuid4().hex,
        gate_id=gate.id,
        action=action_value,
        issued_by=actor.username,
        reason=reason[:500],
        transaction_id=transaction_id,
        expires_at_ms=expires_at_ms,
        from_seq=from_seq,
        to_seq=to_seq,
    )
    issued_at = from_ms(now_ms)
    record = CommandRecord(
        command_id=command.command_id,
        gate_id=gate.id,
        action=action_value.value,
        reason=command.reason,
        transaction_id=transaction_id,
        issued_by=actor.username,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=ttl_s),
        status="pending",
    )
    session.add(record)
    session.flush()  # the row id is central's sequence number for the envelope
    payload = seal(command, sender=CENTRAL_SENDER, key=key, seq=record.id, now_ms=now_ms)
    audit.record(
        session,
        actor,
        "command",
        f"gate:{gate.id}",
        {
            "command_id": command.command_id,
            "action": action_value.value,
            "reason": command.reason,
            "transaction_id": transaction_id,
            **({"from_seq": from_seq, "to_seq": to_seq} if from_seq is not None else {}),
        },
    )
    session.commit()
    try:
        if publisher is None:
            raise CommandNotSent("no broker connection in this process")
        publisher.publish(gate_commands(gate.id), payload)
    except CommandNotSent:
        record.status = "not_sent"
        session.commit()
        log.error("command %s to gate %s not sent", command.command_id, gate.id)
        raise
    record.status = "sent"
    session.commit()
    log.info("command %s (%s) sent to gate %s by %s", command.command_id, action_value.value, gate.id, actor.username)
    return record


def list_commands(session: Session, *, gate_id: str | None = None, limit: int = 100) -> list[CommandRecord]:
    query = select(CommandRecord)
    if gate_id:
        query = query.where(CommandRecord.gate_id == gate_id)
    return list(session.scalars(query.order_by(CommandRecord.id.desc()).limit(limit)))


def command_view(record: CommandRecord) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        value = as_utc(value)
        return value.isoformat() if value else None

    return {
        "command_id": record.command_id,
        "gate_id": record.gate_id,
        "action": record.action,
        "reason": record.reason,
        "transaction_id": record.transaction_id,
        "issued_by": record.issued_by,
        "issued_at": iso(record.issued_at),
        "expires_at": iso(record.expires_at),
        "status": record.status,
        "ack_at": iso(record.ack_at),
        "ack_reason": record.ack_reason,
        "state_after": record.state_after,
    }
