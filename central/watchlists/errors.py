"""Errors of watchlist management at central; each also is the central error the app maps.

    CentralError (central.errors)
     ├── NotFound
     │    └── EntryNotFound(NotFound)                 no watchlist entry with that id
     ├── InvalidRequest
     │    ├── EntryRejected(InvalidRequest)           a field of an entry is invalid (names the field)
     │    ├── EntryExists(InvalidRequest)             create: an active entry with that id exists
     │    └── ImportRejected(InvalidRequest)          a CSV file has invalid rows; nothing was imported
     └── VersionConflict(CentralError, RuntimeError)  another change took the same version number; retry
"""

from __future__ import annotations

from central.errors import CentralError, InvalidRequest, NotFound


class EntryNotFound(NotFound):
    """No watchlist entry with that id."""


class EntryRejected(InvalidRequest):
    """An entry as given does not validate; ``field`` names the first bad field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class EntryExists(InvalidRequest):
    """Create refused: an active entry with the same id (same identity on the same list) exists."""


class ImportRejected(InvalidRequest):
    """A CSV import was refused whole; ``errors`` holds (row, column, message) for every bad row."""

    def __init__(self, source: str, errors: list[tuple[int, str, str]]) -> None:
        self.source = source
        self.errors = errors
        first = f"row {errors[0][0]}, column {errors[0][1]!r}: {errors[0][2]}" if errors else "no detail"
        super().__init__(f"{source}: {len(errors)} error(s), nothing imported; first: {first}")


class VersionConflict(CentralError, RuntimeError):
    """Two changes were committed at once and one lost the race for the version number."""
