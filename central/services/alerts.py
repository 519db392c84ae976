"""Alerts for supervisors: unacknowledged first; acknowledging is an audited officer action.

Ingest calls :func:`apply_gate_event` for every new gate event: it raises the alerts the event
triggers (``central.ingest.rules``: one per real-world event, never a second open one of the same
kind for the same transaction) and clears the open alerts the event answers (a retry granted, a
traveller released, a gate reset), in the name of whoever answered.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from central.errors import NotFound
from central.ingest.rules import alerts_for_event, resolution_for_event
from central.models import Alert, as_utc, utcnow
from central.services import audit
from protocol.messages import GateEvent

log = logging.getLogger(__name__)

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


def apply_gate_event(session: Session, gate_id: str, event: GateEvent, message_id: str, at: datetime) -> list[Alert]:
    """Raise the alerts *event* triggers and clear those it answers; returns the raised ones."""
    _resolve(session, gate_id, event, message_id, at)
    raised = []
    for rule in alerts_for_event(event):
        if _open_alert(session, gate_id, rule.kind, event.transaction_id) is not None:
            log.info("gate %s: %s already open for transaction %s; not raised again", gate_id, rule.kind,
                     event.transaction_id)
            continue
        alert = Alert(
            gate_id=gate_id,
            kind=rule.kind,
            severity=rule.severity.value,
            message=rule.text,
            details=event_details(session, event),
            requires_ack=rule.requires_ack,
            created_at=at,
            source_message_id=message_id,
        )
        session.add(alert)
        raised.append(alert)
        log.warning("gate %s: alert %s (event %s)", gate_id, rule.kind, message_id)
    return raised


def _open_alerts(session: Session, gate_id: str, kinds: frozenset[str]) -> list[Alert]:
    return list(session.scalars(select(Alert).where(
        Alert.gate_id == gate_id, Alert.kind.in_(sorted(kinds)), Alert.acknowledged_at.is_(None))))


def _open_alert(session: Session, gate_id: str, kind: str, transaction_id: str | None) -> Alert | None:
    if transaction_id is None:
        return None  # a gate-level event (a fault, an emergency) is its own event each time
    session.flush()  # an alert raised earlier in this transaction is open too
    for alert in _open_alerts(session, gate_id, frozenset({kind})):
        if (alert.details or {}).get("transaction_id") == transaction_id:
            return alert
    return None


def _resolve(session: Session, gate_id: str, event: GateEvent, message_id: str, at: datetime) -> None:
    resolution = resolution_for_event(event)
    if resolution is None:
        return
    if not resolution.gate_wide and event.transaction_id is None:
        return
    session.flush()
    by = str(event.details.get("issued_by") or "") or f"gate {gate_id}"
    for alert in _open_alerts(session, gate_id, resolution.kinds):
        if not resolution.gate_wide and (alert.details or {}).get("transaction_id") != event.transaction_id:
            continue
        alert.acknowledged_at = at
        alert.acknowledged_by = by[:64]
        alert.answered_by_message_id = message_id
        alert.details = {**(alert.details or {}), "answered_by_event": event.event}
        log.info("gate %s: alert %s %s answered by %s (%s)", gate_id, alert.id, alert.kind, by, event.event)


def event_details(session: Session, event: GateEvent) -> dict[str, Any]:
    """What an alert keeps of its event; a watchlist hit also gets its entry's list, agency and
    reason as central held them when the gate reported the hit."""
    details: dict[str, Any] = {"event": event.event, "transaction_id": event.transaction_id}
    if event.reason:
        details["reason"] = event.reason
    if event.traveler is not None:
        # The supervisor needs the nine fields to judge a hold or a retry (sop §8).
        details["traveler"] = event.traveler.model_dump(mode="json")
    if event.details:
        details["details"] = dict(event.details)
    entry_id = event.details.get("watchlist_entry")
    if isinstance(entry_id, str) and entry_id:
        details["watchlist"] = _watchlist_entry(session, entry_id)
    return details


def _watchlist_entry(session: Session, entry_id: str) -> dict[str, Any]:
    from central.watchlists.models import WatchlistEntryRow

    row = session.get(WatchlistEntryRow, entry_id)
    if row is None:
        return {"entry_id": entry_id, "known": False}
    return {
        "entry_id": entry_id,
        "known": True,
        "list": row.list_name,
        "agency": row.agency,
        "interested_party": row.interested_party,
        "reason": row.reason,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
    }


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
