"""The audit log: every officer action, written in the same transaction as the action itself,
so an action without its audit entry cannot be committed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.models import AuditEntry, utcnow

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
    session.add(entry)
    log.info("audit: %s by %s (%s) on %s", action, actor.username, actor.role, target)
    return entry


def latest(session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
