"""Errors of watchlist management at central; each also is the central error the app maps.

    CentralError (central.errors)
     ├── NotFound
     │    └── EntryNotFound(NotFound)                 no watchlist entry with that id
     ├── InvalidRequest
     │    ├── EntryRejected(InvalidRequest)           a field of an entry is invalid (names the field)
     │    ├── EntryExists(InvalidRequest)             create: an active entry with that id exists
     │    └── ImportRejected (central.errors)         a CSV file has invalid rows; nothing was imported
     └── VersionConflict(CentralError, RuntimeError)  another change took the same version number; retry
"""

from __future__ import annotations

from central.errors import CentralError, InvalidRequest, NotFound
from central.errors import ImportRejected as ImportRejected  # re-exported: one import error for all of central


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


class VersionConflict(CentralError, RuntimeError):
    """Two changes were committed at once and one lost the race for the version number."""
