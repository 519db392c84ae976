"""Who holds which position (jabatan): stored per user, assigned by an administrator, audited.

A new account starts with the positions its role implies (``positions.ROLE_DEFAULTS``: a counter
officer is a checkpoint counter officer); everything else (sections, heads, leadership) is
assigned by name. The engine only ever sees the set of positions a user holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.cases.errors import CaseRefused
from central.cases.models import OfficerContact, PositionHolder
from central.models import User
from central.services import audit
from central.workflows import positions as vocabulary

log = logging.getLogger(__name__)


def positions_of(session: Session, username: str | None) -> frozenset[str]:
    """The positions *username* holds (an inactive or unknown user holds none)."""
    if not username:
        return frozenset()
    rows = session.scalars(
        select(PositionHolder.position)
        .join(User, User.id == PositionHolder.user_id)
        .where(User.username == username, User.active.is_(True))
    )
    return frozenset(rows)


def holders_of(session: Session, position: str) -> list[User]:
    """The active users holding *position*."""
    return list(session.scalars(
        select(User).join(PositionHolder, PositionHolder.user_id == User.id)
        .where(PositionHolder.position == position, User.active.is_(True)).order_by(User.username)
    ))


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise CaseRefused(f"no user {username!r}")
    return user


def _check(keys: Iterable[str]) -> list[str]:
    keys = list(dict.fromkeys(keys))
    for key in keys:
        spec = vocabulary.BY_KEY.get(key)
        if spec is None:
            raise CaseRefused(f"unknown position {key!r}; one of {', '.join(vocabulary.ASSIGNABLE)}")
        if not spec.assignable:
            raise CaseRefused(f"position {key!r} is {'an outside party' if spec.external else 'the system'}; no user holds it")
    return keys


def set_positions(session: Session, username: str, keys: Iterable[str], actor: audit.Actor) -> list[str]:
    """Make *username* hold exactly *keys*; audited with what was added and removed."""
    wanted = _check(keys)
    user = _user(session, username)
    held = {row.position: row for row in session.scalars(select(PositionHolder).where(PositionHolder.user_id == user.id))}
    added = [k for k in wanted if k not in held]
    removed = [k for k in held if k not in wanted]
    for key in added:
        session.add(PositionHolder(user_id=user.id, position=key, assigned_by=actor.username))
    if removed:
        session.execute(delete(PositionHolder).where(PositionHolder.user_id == user.id, PositionHolder.position.in_(removed)))
    if added or removed:
        audit.record(session, actor, "positions_changed", target=f"user:{username}",
                     details={"added": added, "removed": removed})
        log.info("positions of %s: +%s -%s (by %s)", username, added, removed, actor.username)
    session.flush()
    return sorted(wanted)


def set_contact(session: Session, username: str, *, email: str | None, phone: str | None, actor: audit.Actor) -> None:
    user = _user(session, username)
    row = session.get(OfficerContact, user.id) or OfficerContact(user_id=user.id)
    row.email = (email or "").strip()[:200] or None
    row.phone = (phone or "").strip()[:32] or None
    session.add(row)
    audit.record(session, actor, "contact_changed", target=f"user:{username}",
                 details={"email": row.email is not None, "phone": row.phone is not None})


def contact_of(session: Session, user_id: int) -> OfficerContact | None:
    return session.get(OfficerContact, user_id)


def roster(session: Session) -> list[tuple[User, list[str]]]:
    """Every user with the positions they hold, for the administrator's page."""
    held: dict[int, list[str]] = {}
    for row in session.scalars(select(PositionHolder).order_by(PositionHolder.position)):
        held.setdefault(row.user_id, []).append(row.position)
    return [(user, held.get(user.id, [])) for user in session.scalars(select(User).order_by(User.username))]
