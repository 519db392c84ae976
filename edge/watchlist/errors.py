"""Errors of the watchlist package.

    WatchlistError
     ├── CsvRowError(WatchlistError, ValueError)          one CSV row/column is invalid
     ├── CsvFormatError(WatchlistError, ValueError)       the CSV header lacks required columns
     ├── CsvImportError(WatchlistError, ValueError)       a CSV file has invalid rows (all listed)
     ├── SnapshotError(WatchlistError, ValueError)        a snapshot file is unreadable or invalid
     ├── DeltaVersionMismatch(WatchlistError, ValueError) a delta's base is not the snapshot's version
     └── DeltaConflict(WatchlistError, ValueError)        a delta adds an existing or changes a missing entry
"""

from __future__ import annotations


class WatchlistError(Exception):
    """Base of watchlist errors."""


class CsvRowError(WatchlistError, ValueError):
    """One CSV row has an invalid or missing value; ``row`` is 1-based counting the header as 1."""

    def __init__(self, row: int, column: str, message: str) -> None:
        self.row = row
        self.column = column
        self.message = message
        super().__init__(f"row {row}, column {column!r}: {message}")


class CsvFormatError(WatchlistError, ValueError):
    """The CSV header lacks required columns or names unknown ones."""


class CsvImportError(WatchlistError, ValueError):
    """A CSV file has one or more invalid rows; ``errors`` lists every one."""

    def __init__(self, source: str, errors: list[CsvRowError]) -> None:
        self.source = source
        self.errors = errors
        first = errors[0] if errors else "no rows"
        super().__init__(f"{source}: {len(errors)} invalid row(s); first: {first}")


class SnapshotError(WatchlistError, ValueError):
    """A snapshot file cannot be read or does not validate."""


class DeltaVersionMismatch(WatchlistError, ValueError):
    """A delta was built against another snapshot version than the one it is applied to."""


class DeltaConflict(WatchlistError, ValueError):
    """A delta adds an entry id that exists, or updates/removes one that does not."""
