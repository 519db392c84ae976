"""Errors of enrolments at central; each also is the central error the app maps to a status.

    CentralError (central.errors)
     ├── NotFound
     │    └── EnrolmentNotFound(NotFound)               no enrolment with that id / document
     ├── InvalidRequest
     │    ├── EnrolmentRejected(InvalidRequest)         a field is invalid (names the field)
     │    └── ImportRejected (central.errors)           a file has invalid rows; nothing was imported
     └── GateRequestRefused(CentralError, PermissionError)  a gate fetch is unsigned, forged, stale
                                                            or from an unknown gate (answered 401)
"""

from __future__ import annotations

from central.errors import CentralError, InvalidRequest, NotFound
from central.errors import ImportRejected as ImportRejected  # re-exported: one import error for all of central


class EnrolmentNotFound(NotFound):
    """No (active) enrolment with that id or document."""


class EnrolmentRejected(InvalidRequest):
    """An enrolment as given does not validate; ``field`` names the first bad field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class GateRequestRefused(CentralError, PermissionError):
    """A gate's enrolment request failed authentication; ``reason`` is safe to log and return."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
