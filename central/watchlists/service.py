"""Watchlist changes at central: every officer action makes ONE new audited version.

Add, update, deactivate and CSV import each write the entry rows, one ``WatchlistVersion`` with
the SHA-256 of the resulting canonical snapshot, one ``WatchlistChange`` per entry changed, and
an audit entry, all in the caller's transaction (the caller commits; nothing is half-written).
A change that changes nothing makes no version. Snapshots and deltas are built here with the
gate's own models (``edge.watchlist.snapshot``), so the bytes central hashes are the bytes a
gate rebuilds and checks.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.models import as_utc, utcnow
from central.services import audit
from central.watchlists.errors import (
    EntryExists,
    EntryNotFound,
    EntryRejected,
    VersionConflict,
)
from central.watchlists.models import (
    WatchlistChange,
    WatchlistEntryRow,
    WatchlistVersion,
)
from edge.watchlist.csvio import stable_entry_id
from edge.watchlist.model import WatchlistEntry
from edge.watchlist.snapshot import WatchlistDelta, WatchlistSnapshot

log = logging.getLogger(__name__)

# Bounds central enforces on input, so every entry fits its columns and one signed chunk.
MAX_LENGTHS: dict[str, int] = {
    "surname": 120, "given_names": 120, "agency": 200, "interested_party": 200, "reason": 2000,
}
MAX_DOCUMENTS = 10
MAX_DOCUMENT_LENGTH = 20
EDITABLE_FIELDS = frozenset(
    {"list", "document_numbers", "surname", "given_names", "birth_date", "nationality", "sex", "agency",
     "interested_party", "reason", "valid_from", "valid_until"}
)
_FIELD_TO_COLUMN = {"document_numbers": "document_number"}


@dataclass(frozen=True)
class ChangeResult:
    """What one action did: the new version (None when nothing changed) and the entry ids."""

    version: int | None
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0


@dataclass
class _Pending:
    changes: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)


# ------------------------------------------------------------------------------ conversions


def entry_json(entry: WatchlistEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json")


def entry_of(row: WatchlistEntryRow) -> WatchlistEntry:
    return WatchlistEntry(
        entry_id=row.entry_id, list=row.list_name, document_numbers=tuple(row.document_numbers or ()),  # type: ignore[arg-type]
        surname=row.surname, given_names=row.given_names, birth_date=row.birth_date,
        nationality=row.nationality, sex=row.sex, agency=row.agency,  # type: ignore[arg-type]
        interested_party=row.interested_party, reason=row.reason,
        valid_from=row.valid_from, valid_until=row.valid_until,
    )


def _write_row(row: WatchlistEntryRow, entry: WatchlistEntry) -> None:
    row.list_name = entry.list
    row.document_numbers = list(entry.document_numbers)
    row.document_numbers_text = ";".join(entry.document_numbers)
    row.surname, row.given_names = entry.surname, entry.given_names
    row.birth_date, row.nationality, row.sex = entry.birth_date, entry.nationality, entry.sex
    row.agency, row.interested_party, row.reason = entry.agency, entry.interested_party, entry.reason
    row.valid_from, row.valid_until = entry.valid_from, entry.valid_until


def bounds_problem(entry: WatchlistEntry) -> tuple[str, str] | None:
    """(column, message) for the first field over central's bounds, else None."""
    for name, limit in MAX_LENGTHS.items():
        if len(getattr(entry, name)) > limit:
            return name, f"longer than {limit} characters"
    if len(entry.document_numbers) > MAX_DOCUMENTS:
        return "document_number", f"more than {MAX_DOCUMENTS} document numbers"
    for number in entry.document_numbers:
        if len(number) > MAX_DOCUMENT_LENGTH:
            return "document_number", f"document number longer than {MAX_DOCUMENT_LENGTH} characters"
    return None


def build_entry(data: Mapping[str, Any], *, entry_id: str | None = None) -> WatchlistEntry:
    """An entry from API/form fields; ``EntryRejected`` names the first bad field. Without an id
    the id is derived from the identity (as CSV import does), so the same alert keeps its id."""
    unknown = set(data) - EDITABLE_FIELDS - {"entry_id"}
    if unknown:
        raise EntryRejected(min(unknown), "unknown field")
    fields = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items() if k != "entry_id"}
    for name in ("birth_date", "nationality", "sex", "valid_from", "valid_until"):
        if fields.get(name) == "":
            fields[name] = None
    if isinstance(fields.get("list"), str):
        fields["list"] = fields["list"].lower()
    entry_id = entry_id or (str(data["entry_id"]).strip() if data.get("entry_id") else None)
    if not entry_id:
        docs = fields.get("document_numbers") or ""
        docs_text = ";".join(docs) if isinstance(docs, (list, tuple)) else str(docs)
        entry_id = stable_entry_id({
            "list": str(fields.get("list") or ""), "document_number": docs_text,
            "surname": str(fields.get("surname") or ""), "given_names": str(fields.get("given_names") or ""),
            "birth_date": str(fields.get("birth_date") or ""), "nationality": str(fields.get("nationality") or ""),
        })
    try:
        entry = WatchlistEntry(entry_id=entry_id, **fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err["loc"] else "(entry)"
        raise EntryRejected(_FIELD_TO_COLUMN.get(loc, loc), err["msg"].removeprefix("Value error, ")) from exc
    problem = bounds_problem(entry)
    if problem:
        raise EntryRejected(*problem)
    return entry


# ------------------------------------------------------------------------------ reading


def current_version(session: Session) -> int:
    return session.scalar(select(func.max(WatchlistVersion.version))) or 0


def get_row(session: Session, entry_id: str) -> WatchlistEntryRow:
    row = session.get(WatchlistEntryRow, entry_id)
    if row is None:
        raise EntryNotFound(f"no watchlist entry {entry_id!r}")
    return row


def current_snapshot(session: Session) -> WatchlistSnapshot:
    """The list gates must run now: every active entry (the screener applies validity dates)."""
    rows = session.scalars(select(WatchlistEntryRow).where(WatchlistEntryRow.active.is_(True)))
    return WatchlistSnapshot(version=current_version(session), entries=tuple(entry_of(r) for r in rows))


def snapshot_sha256(snapshot: WatchlistSnapshot) -> str:
    return hashlib.sha256(snapshot.canonical_json()).hexdigest()


def snapshot_at(session: Session, version: int) -> WatchlistSnapshot:
    """The list as it was at *version*, rebuilt from the change log alone."""
    by_id: dict[str, dict[str, Any]] = {}
    changes = session.scalars(
        select(WatchlistChange).where(WatchlistChange.version <= version).order_by(WatchlistChange.version, WatchlistChange.id)
    )
    for change in changes:
        if change.after is None:
            by_id.pop(change.entry_id, None)
        else:
            by_id[change.entry_id] = change.after
    return WatchlistSnapshot(version=version, entries=tuple(WatchlistEntry.model_validate(e) for e in by_id.values()))


def delta_between(session: Session, base_version: int, version: int) -> WatchlistDelta:
    """The net change from *base_version* to *version*, from the change log."""
    if not 0 <= base_version < version:
        raise ValueError(f"no delta from version {base_version} to {version}")
    first_before: dict[str, dict[str, Any] | None] = {}
    last_after: dict[str, dict[str, Any] | None] = {}
    changes = session.scalars(
        select(WatchlistChange)
        .where(WatchlistChange.version > base_version, WatchlistChange.version <= version)
        .order_by(WatchlistChange.version, WatchlistChange.id)
    )
    for change in changes:
        first_before.setdefault(change.entry_id, change.before)
        last_after[change.entry_id] = change.after
    added, updated, removed = [], [], []
    for entry_id, before in first_before.items():
        after = last_after[entry_id]
        if before is None and after is not None:
            added.append(WatchlistEntry.model_validate(after))
        elif before is not None and after is None:
            removed.append(entry_id)
        elif before is not None and after is not None and before != after:
            updated.append(WatchlistEntry.model_validate(after))
    return WatchlistDelta(
        base_version=base_version, version=version, added=tuple(added), updated=tuple(updated), removed=tuple(removed)
    )


def list_versions(session: Session, limit: int = 50) -> list[WatchlistVersion]:
    return list(session.scalars(select(WatchlistVersion).order_by(WatchlistVersion.version.desc()).limit(limit)))


def search_entries(
    session: Session, *, text: str = "", list_name: str | None = None, include_inactive: bool = False,
    limit: int = 100, offset: int = 0,
) -> list[WatchlistEntryRow]:
    """Entries whose name or document number contains *text* (case-insensitive)."""
    query = select(WatchlistEntryRow)
    if not include_inactive:
        query = query.where(WatchlistEntryRow.active.is_(True))
    if list_name:
        query = query.where(WatchlistEntryRow.list_name == list_name)
    text = text.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(
            WatchlistEntryRow.surname.ilike(pattern, escape="\\"),
            WatchlistEntryRow.given_names.ilike(pattern, escape="\\"),
            WatchlistEntryRow.document_numbers_text.ilike(pattern, escape="\\"),
            WatchlistEntryRow.entry_id == text,
        ))
    query = query.order_by(WatchlistEntryRow.surname, WatchlistEntryRow.given_names, WatchlistEntryRow.entry_id)
    return list(session.scalars(query.limit(limit).offset(offset)))


# ------------------------------------------------------------------------------ writing


def _commit_version(session: Session, actor: audit.Actor, summary: str, pending: _Pending) -> int:
    """Write the version row and its change log; the entry rows are already updated."""
    version = current_version(session) + 1
    for entry_id, _op, _before, _after in pending.changes:
        session.get(WatchlistEntryRow, entry_id).version = version  # type: ignore[union-attr]
    session.flush()
    snapshot = current_snapshot(session).model_copy(update={"version": version})
    row = WatchlistVersion(
        version=version, created_at=utcnow(), created_by=actor.username, summary=summary[:2000],
        entries=len(snapshot.entries), sha256=snapshot_sha256(snapshot),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise VersionConflict(f"watchlist version {version} was taken by a concurrent change; retry") from exc
    for entry_id, op, before, after in pending.changes:
        session.add(WatchlistChange(version=version, entry_id=entry_id, op=op, before=before, after=after))
    session.flush()
    log.info("watchlist version %d by %s: %s (%d entries)", version, actor.username, summary, len(snapshot.entries))
    return version


def _stage(session: Session, entry: WatchlistEntry, actor: audit.Actor, pending: _Pending, *, create_only: bool) -> str | None:
    """Stage an add or update of *entry*; returns "add", "update" or None (unchanged)."""
    row = session.get(WatchlistEntryRow, entry.entry_id)
    now = utcnow()
    if row is not None and row.active:
        if create_only:
            raise EntryExists(f"watchlist entry {entry.entry_id!r} already exists")
        before = entry_json(entry_of(row))
        after = entry_json(entry)
        if before == after:
            return None
        _write_row(row, entry)
        row.updated_at, row.updated_by = now, actor.username
        pending.changes.append((entry.entry_id, "update", before, after))
        return "update"
    if row is None:
        row = WatchlistEntryRow(entry_id=entry.entry_id, created_at=now, created_by=actor.username, version=0)
        session.add(row)
    _write_row(row, entry)
    row.active = True  # a deactivated entry added again comes back under its old id
    row.updated_at, row.updated_by = now, actor.username
    pending.changes.append((entry.entry_id, "add", None, entry_json(entry)))
    return "add"


def add_entry(session: Session, entry: WatchlistEntry, actor: audit.Actor) -> ChangeResult:
    """Add one entry: one new version, one audit entry. The caller commits."""
    pending = _Pending()
    _stage(session, entry, actor, pending, create_only=True)
    version = _commit_version(session, actor, f"add {entry.entry_id}", pending)
    audit.record(session, actor, "watchlist_add", f"watchlist:{entry.entry_id}", {"version": version, "list": entry.list})
    return ChangeResult(version=version, added=(entry.entry_id,))


def update_entry(session: Session, entry_id: str, changes: Mapping[str, Any], actor: audit.Actor) -> ChangeResult:
    """Change fields of an active entry (the id stays). No difference: no version."""
    row = get_row(session, entry_id)
    if not row.active:
        raise EntryNotFound(f"watchlist entry {entry_id!r} is deactivated")
    merged = {**entry_json(entry_of(row)), **dict(changes)}
    merged.pop("entry_id", None)
    entry = build_entry(merged, entry_id=entry_id)
    pending = _Pending()
    if _stage(session, entry, actor, pending, create_only=False) is None:
        return ChangeResult(version=None, unchanged=1)
    version = _commit_version(session, actor, f"update {entry_id}", pending)
    fields = sorted(k for k in changes if k in EDITABLE_FIELDS)
    audit.record(session, actor, "watchlist_update", f"watchlist:{entry_id}", {"version": version, "fields": fields})
    return ChangeResult(version=version, updated=(entry_id,))


def deactivate_entry(session: Session, entry_id: str, actor: audit.Actor, reason: str = "") -> ChangeResult:
    """Take an entry off the list gates run; the row and its history stay."""
    row = get_row(session, entry_id)
    if not row.active:
        return ChangeResult(version=None, unchanged=1)
    pending = _Pending()
    pending.changes.append((entry_id, "remove", entry_json(entry_of(row)), None))
    row.active = False
    row.updated_at, row.updated_by = utcnow(), actor.username
    version = _commit_version(session, actor, f"deactivate {entry_id}", pending)
    audit.record(session, actor, "watchlist_deactivate", f"watchlist:{entry_id}", {"version": version, "reason": reason[:500]})
    return ChangeResult(version=version, removed=(entry_id,))


def import_entries(
    session: Session, entries: Iterable[WatchlistEntry], actor: audit.Actor, *, source: str, replace: bool = False
) -> ChangeResult:
    """Add new entries and update changed ones as ONE version. With ``replace``, active entries
    of the lists present in the file that the file no longer holds are deactivated too."""
    entries = list(entries)
    pending = _Pending()
    added, updated, removed = [], [], []
    unchanged = 0
    for entry in entries:
        op = _stage(session, entry, actor, pending, create_only=False)
        if op == "add":
            added.append(entry.entry_id)
        elif op == "update":
            updated.append(entry.entry_id)
        else:
            unchanged += 1
    if replace and entries:
        keep = {e.entry_id for e in entries}
        lists = sorted({e.list for e in entries})
        stale = session.scalars(
            select(WatchlistEntryRow).where(WatchlistEntryRow.active.is_(True), WatchlistEntryRow.list_name.in_(lists))
        )
        for row in stale:
            if row.entry_id not in keep:
                pending.changes.append((row.entry_id, "remove", entry_json(entry_of(row)), None))
                row.active = False
                row.updated_at, row.updated_by = utcnow(), actor.username
                removed.append(row.entry_id)
    version = None
    if pending.changes:
        summary = f"import {source}: {len(added)} added, {len(updated)} updated, {len(removed)} deactivated"
        version = _commit_version(session, actor, summary, pending)
    audit.record(session, actor, "watchlist_import", f"watchlist-import:{source}"[:200], {
        "version": version, "rows": len(entries), "added": len(added), "updated": len(updated),
        "deactivated": len(removed), "unchanged": unchanged, "replace": replace,
    })
    return ChangeResult(version=version, added=tuple(added), updated=tuple(updated), removed=tuple(removed), unchanged=unchanged)


# ------------------------------------------------------------------------------ views


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    value = as_utc(value)
    return value.isoformat() if value else None


def entry_view(row: WatchlistEntryRow) -> dict[str, Any]:
    return {
        **entry_json(entry_of(row)),
        "active": row.active, "version": row.version,
        "created_at": _iso(row.created_at), "created_by": row.created_by,
        "updated_at": _iso(row.updated_at), "updated_by": row.updated_by,
    }


def version_view(row: WatchlistVersion) -> dict[str, Any]:
    return {
        "version": row.version, "created_at": _iso(row.created_at), "created_by": row.created_by,
        "summary": row.summary, "entries": row.entries, "sha256": row.sha256,
        "published_at": _iso(row.published_at), "chunk_count": row.chunk_count,
    }
