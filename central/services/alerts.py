"""Alerts for supervisors: unacknowledged first; acknowledging is an audited officer action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from central.errors import NotFound
from central.models import Alert, as_utc, utcnow
from central.services import audit

SEVERITY_ORDER = {"critical": 0, "high": 1, "warning": 2, "info": 3}


def list_alerts(session: Session, *, unacknowledged_only: bool = False, gate_id: str | None = None, limit: int = 100) -> list[Alert]:
    query = select(Alert)
    if unacknowledged_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    if gate_id:
        query = query.where(Alert.gate_id == gate_id)
    unacked_first = case((Alert.acknowledged_at.is_(None), 0), else_=1)
    severity = case(SEVERITY_ORDER, value=Alert.severity, else_=9)
    query = query.order_by(unacked_first, severity, Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    return list(session.scalars(query))


def acknowledge(session: Session, alert_id: int, actor: audit.Actor, note: str = "") -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = actor.username
    audit.record(session, actor, "alert_acknowledge", f"alert:{alert_id}", {"kind": alert.kind, "gate": alert.gate_id, "note": note[:500]})
    return alert


def alert_view(alert: Alert) -> dict[str, Any]:
    created = as_utc(alert.created_at)
    acked = as_utc(alert.acknowledged_at)
    return {
        "id": alert.id,
        "gate_id": alert.gate_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "message": alert.message,
        "details": alert.details,
        "requires_ack": alert.requires_ack,
        "created_at": created.isoformat() if created else None,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": acked.isoformat() if acked else None,
    }
