"""Watchlist screening (daftar cegah tangkal, Interpol): one pure engine for central and the gates.

``Screener(entries)`` builds the index once; ``screen(query, today=...)`` returns the level
("identical" = cekal identik, "similar", "none") with scored, explained candidates. No I/O and no
wall clock here apart from ``csvio``, ``snapshot`` (files) and ``cli``.
"""

from edge.watchlist.local import LocalWatchlist
from edge.watchlist.model import (
    Level,
    ListName,
    ScreeningCandidate,
    ScreeningQuery,
    ScreeningResult,
    WatchlistEntry,
)
from edge.watchlist.screen import Screener

__all__ = [
    "Level",
    "ListName",
    "LocalWatchlist",
    "Screener",
    "ScreeningCandidate",
    "ScreeningQuery",
    "ScreeningResult",
    "WatchlistEntry",
]
