"""The audit log as a hash chain: each entry stores the previous entry's hash and a SHA-256 over
its own canonical content plus that previous hash. Changing, removing or reordering an entry
breaks the chain from that entry on; ``autogate audit verify`` walks it.

Appending is serialised through the single ``audit_chain_head`` row: the first statement of an
append is an UPDATE of that row, which takes its row lock on PostgreSQL (a second officer's
transaction waits there and then reads the new head) and the database write lock on SQLite. So
two officers acting at once queue behind each other; the chain never forks. The lock is held
until the action's transaction commits -- audit entries are written in the same transaction as
the action they record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from central.models import AuditChainHead, AuditEntry, as_utc

HEAD_ID = 1
GENESIS = "0" * 64  # the "previous hash" of the first entry


def canonical_time(at: datetime | None) -> str:
    """Microsecond UTC text; both databases give back exactly what they were given."""
    value = as_utc(at) or datetime.fromtimestamp(0, UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_details(details: Any) -> dict[str, Any]:
    """Details as they come back from a JSON column (tuples become lists, keys strings)."""
    return dict(json.loads(json.dumps(details or {}, ensure_ascii=False, default=str)))


def content_hash(
    *, seq: int, prev_hash: str, at: datetime | None, username: str | None, role: str | None,
    action: str, target: str | None, details: Any, ip: str | None,
) -> str:
    canonical = json.dumps(
        {
            "seq": seq, "prev": prev_hash, "at": canonical_time(at), "username": username, "role": role,
            "action": action, "target": target, "details": normalise_details(details), "ip": ip,
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    return content_hash(
        seq=entry.seq or 0, prev_hash=entry.prev_hash or "", at=entry.at, username=entry.username,
        role=entry.role, action=entry.action, target=entry.target, details=entry.details, ip=entry.ip,
    )


def append(session: Session, entry: AuditEntry) -> None:
    """Give *entry* its place in the chain and add it to *session* (the caller commits)."""
    entry.details = normalise_details(entry.details)
    locked = session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=AuditChainHead.seq)
    ).rowcount
    if not locked:  # a schema made by create_all before any entry: the head row is created once
        session.add(AuditChainHead(id=HEAD_ID, seq=0, last_hash=GENESIS))
        session.flush()
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)
    ).one()
    entry.seq = head.seq + 1
    entry.prev_hash = head.last_hash
    entry.entry_hash = entry_hash(entry)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(seq=entry.seq, last_hash=entry.entry_hash)
    )
    session.add(entry)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    problem: str = ""
    entry_id: int | None = None
    seq: int | None = None


def verify_rows(rows: Iterable[AuditEntry], head: tuple[int, str] | None) -> Verdict:
    """Walk the chain in seq order: the first entry that does not follow is named."""
    previous = GENESIS
    count = 0
    for expected_seq, entry in enumerate(rows, start=1):
        count = expected_seq
        where = {"entry_id": entry.id, "seq": entry.seq}
        if entry.seq is None or entry.entry_hash is None:
            return Verdict(False, count, f"entry id {entry.id} is not chained (no seq or hash)", **where)
        if entry.seq != expected_seq:
            return Verdict(False, count, f"entry id {entry.id} has seq {entry.seq} where {expected_seq} was expected: "
                           f"entry seq {expected_seq} was removed or entries were reordered", **where)
        if entry.prev_hash != previous:
            return Verdict(False, count, f"entry id {entry.id} (seq {entry.seq}) does not follow the previous entry: "
                           "an entry before it was removed, altered or reordered", **where)
        if entry_hash(entry) != entry.entry_hash:
            return Verdict(False, count, f"entry id {entry.id} (seq {entry.seq}) was altered: its content does not "
                           "match its hash", **where)
        previous = entry.entry_hash
    if head is not None and (head[0] != count or head[1] != previous):
        return Verdict(False, count, f"the chain ends at seq {count} but its head says seq {head[0]}: "
                       "the latest entries were removed", seq=head[0])
    return Verdict(True, count)


def verify(session: Session) -> Verdict:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.is_(None).desc(), AuditEntry.seq, AuditEntry.id))
    head = session.execute(select(AuditChainHead.seq, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)).first()
    return verify_rows(rows, (head.seq, head.last_hash) if head is not None else None)


def chain_existing(connection: Connection, audit_log: Any, chain_head: Any) -> int:
    """Chain the rows a database already holds, oldest first (the migration); returns how many."""
    previous, seq = GENESIS, 0
    for row in connection.execute(select(audit_log).order_by(audit_log.c.id)).mappings():
        seq += 1
        digest = content_hash(
            seq=seq, prev_hash=previous, at=row["at"], username=row["username"], role=row["role"],
            action=row["action"], target=row["target"], details=row["details"], ip=row["ip"],
        )
        connection.execute(
            update(audit_log).where(audit_log.c.id == row["id"]).values(seq=seq, prev_hash=previous, entry_hash=digest)
        )
        previous = digest
    connection.execute(chain_head.insert().values(id=HEAD_ID, seq=seq, last_hash=previous))
    return seq
