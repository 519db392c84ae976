"""The gate's local copy of the watchlists: load at start, screen offline, apply deltas.

Owns one snapshot file and the ``Screener`` built from it. A delta is applied to a new snapshot,
saved atomically, and only then is the new screener swapped in, so a crash at any point leaves a
consistent file and the old screener keeps answering while the new one is built. Thread-safety of
the swap is the caller's (edge/link calls ``apply`` from one thread; reads see either screener).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from edge.watchlist.model import ScreeningQuery, ScreeningResult
from edge.watchlist.screen import Screener
from edge.watchlist.snapshot import (
    WatchlistDelta,
    WatchlistSnapshot,
    apply_delta,
    load_snapshot,
    save_snapshot,
)

log = logging.getLogger(__name__)


class LocalWatchlist:
    """Screening from the gate's own copy; ``version`` says which list version answers."""

    def __init__(self, snapshot: WatchlistSnapshot, *, path: Path | None = None) -> None:
        self._path = path
        self._snapshot = snapshot
        self._screener = Screener(snapshot.entries)

    @classmethod
    def load(cls, path: Path | str) -> LocalWatchlist:
        """Start from the saved copy (``SnapshotError`` if it is missing or damaged)."""
        path = Path(path)
        return cls(load_snapshot(path), path=path)

    @property
    def version(self) -> int:
        return self._snapshot.version

    @property
    def snapshot(self) -> WatchlistSnapshot:
        return self._snapshot

    def screen(self, query: ScreeningQuery, *, today: date) -> ScreeningResult:
        return self._screener.screen(query, today=today)

    def replace(self, snapshot: WatchlistSnapshot) -> None:
        """Install a full snapshot (first sync, or after a ``DeltaVersionMismatch``)."""
        screener = Screener(snapshot.entries)
        if self._path is not None:
            save_snapshot(snapshot, self._path)
        self._snapshot, self._screener = snapshot, screener
        log.info("watchlist local copy now version %d", snapshot.version)

    def apply(self, delta: WatchlistDelta) -> None:
        """Apply one delta; raises ``DeltaVersionMismatch``/``DeltaConflict`` and keeps the old copy."""
        self.replace(apply_delta(self._snapshot, delta))
