"""The audit log: every officer action, written in the same transaction as the action itself,
so an action without its audit entry cannot be committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import AuditEntry, utcnow
from central.services import audit_chain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who acts: the logged-in officer (or the CLI operator) and where from."""

    username: str | None
    role: str | None
    ip: str | None = None


def record(
    session: Session, actor: Actor, action: str, target: str | None = None, details: Mapping[str, Any] | None = None
) -> AuditEntry:
    entry = AuditEntry(
        at=utcnow(),
        username=actor.username,
        role=actor.role,
        action=action,
        target=target,
        details=dict(details or {}),
        ip=actor.ip,
    )
    audit_chain.append(session, entry)  # hash-chained: a later change to the log shows
    log.info("audit: %s by %s (%s) on %s", action, actor.username, actor.role, target)
    return entry


def latest(session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))


def search(
    session: Session,
    *,
    username: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Entries newest first, filtered by exact user and action, target prefix and a time window."""
    query = select(AuditEntry)
    if username:
        query = query.where(AuditEntry.username == username)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target.startswith(target, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))


def actions(session: Session) -> list[str]:
    """Every action name the log holds, for the filter."""
    return sorted(a for a in session.scalars(select(AuditEntry.action).distinct()) if a)
