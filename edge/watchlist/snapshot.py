"""Versioned watchlist snapshots and deltas, and the gate's local copy on disk.

Central publishes a full ``WatchlistSnapshot`` now and then and a ``WatchlistDelta`` per change;
a gate applies deltas in order and keeps screening from its local copy when central is down.
Serialisation is canonical (entries sorted by id, ``model_dump_json()``), so protocol/ can sign
the bytes and every gate holding version N holds the very same bytes. Signing is not done here.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from edge.watchlist.errors import DeltaConflict, DeltaVersionMismatch, SnapshotError
from edge.watchlist.model import WatchlistEntry

log = logging.getLogger(__name__)


def _sorted_unique(entries: tuple[WatchlistEntry, ...]) -> tuple[WatchlistEntry, ...]:
    ordered = tuple(sorted(entries, key=lambda e: e.entry_id))
    for a, b in itertools.pairwise(ordered):
        if a.entry_id == b.entry_id:
            raise ValueError(f"entry id {a.entry_id!r} appears twice")
    return ordered


class WatchlistSnapshot(BaseModel):
    """All active and future entries at one version; entries are kept sorted by entry_id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=0)
    entries: tuple[WatchlistEntry, ...] = ()

    @field_validator("entries")
    @classmethod
    def _canonical(cls, entries: tuple[WatchlistEntry, ...]) -> tuple[WatchlistEntry, ...]:
        return _sorted_unique(entries)

    def canonical_json(self) -> bytes:
        """The bytes to sign, store and compare."""
        return self.model_dump_json().encode("utf-8")


class WatchlistDelta(BaseModel):
    """The change from ``base_version`` to ``version``: entries added, updated and removed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_version: int = Field(ge=0)
    version: int = Field(ge=1)
    added: tuple[WatchlistEntry, ...] = ()
    updated: tuple[WatchlistEntry, ...] = ()
    removed: tuple[str, ...] = ()

    @field_validator("added", "updated")
    @classmethod
    def _canonical(cls, entries: tuple[WatchlistEntry, ...]) -> tuple[WatchlistEntry, ...]:
        return _sorted_unique(entries)

    @field_validator("removed")
    @classmethod
    def _sorted(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(ids))

    @model_validator(mode="after")
    def _consistent(self) -> WatchlistDelta:
        if self.version <= self.base_version:
            raise ValueError(f"delta version {self.version} is not after its base {self.base_version}")
        ids = [e.entry_id for e in self.added + self.updated] + list(self.removed)
        if len(ids) != len(set(ids)):
            raise ValueError("an entry id appears more than once in the delta")
        return self

    def canonical_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def apply_delta(snapshot: WatchlistSnapshot, delta: WatchlistDelta) -> WatchlistSnapshot:
    """The next snapshot. Refuses a delta built on another version (the gate must then fetch a
    full snapshot) and one that adds an existing id or updates/removes a missing one."""
    if delta.base_version != snapshot.version:
        raise DeltaVersionMismatch(
            f"delta {delta.base_version}->{delta.version} does not apply to snapshot version {snapshot.version}"
        )
    by_id = {e.entry_id: e for e in snapshot.entries}
    for e in delta.added:
        if e.entry_id in by_id:
            raise DeltaConflict(f"delta {delta.version}: added entry {e.entry_id!r} already exists")
        by_id[e.entry_id] = e
    for e in delta.updated:
        if e.entry_id not in by_id:
            raise DeltaConflict(f"delta {delta.version}: updated entry {e.entry_id!r} does not exist")
        by_id[e.entry_id] = e
    for entry_id in delta.removed:
        if by_id.pop(entry_id, None) is None:
            raise DeltaConflict(f"delta {delta.version}: removed entry {entry_id!r} does not exist")
    return WatchlistSnapshot(version=delta.version, entries=tuple(by_id.values()))


def make_delta(old: WatchlistSnapshot, new: WatchlistSnapshot) -> WatchlistDelta:
    """The delta that turns ``old`` into ``new`` (central, when publishing a new version)."""
    before = {e.entry_id: e for e in old.entries}
    after = {e.entry_id: e for e in new.entries}
    return WatchlistDelta(
        base_version=old.version,
        version=new.version,
        added=tuple(e for i, e in after.items() if i not in before),
        updated=tuple(e for i, e in after.items() if i in before and before[i] != e),
        removed=tuple(i for i in before if i not in after),
    )


def save_snapshot(snapshot: WatchlistSnapshot, path: Path | str) -> None:
    """Write atomically: temp file in the same folder, fsync, rename, fsync the folder, so a
    power cut leaves either the old or the new copy, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(snapshot.canonical_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    log.info("watchlist snapshot version %d saved (%d entries)", snapshot.version, len(snapshot.entries))


def load_snapshot(path: Path | str) -> WatchlistSnapshot:
    """The local copy saved by ``save_snapshot``; ``SnapshotError`` if missing or invalid."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"watchlist snapshot {path}: cannot read ({exc.strerror})") from exc
    try:
        snapshot = WatchlistSnapshot.model_validate_json(data)
    except ValidationError as exc:
        raise SnapshotError(f"watchlist snapshot {path}: invalid ({exc.error_count()} error(s))") from exc
    log.info("watchlist snapshot version %d loaded (%d entries)", snapshot.version, len(snapshot.entries))
    return snapshot
