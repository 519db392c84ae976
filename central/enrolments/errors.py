"""Errors of enrolments at central; each also is the central error the app maps to a status.

    CentralError (central.errors)
     ├── NotFound
     │    └── EnrolmentNotFound(NotFound)               no enrolment with that id / document
     ├── InvalidRequest
     │    ├── EnrolmentRejected(InvalidRequest)         a field is invalid (names the field)
     │    └── ImportRejected(InvalidRequest)            a file has invalid rows; nothing was imported
     └── GateRequestRefused(CentralError, PermissionError)  a gate fetch is unsigned, forged, stale
                                                            or from an unknown gate (answered 401)
"""

from __future__ import annotations

from central.errors import CentralError, InvalidRequest, NotFound


class EnrolmentNotFound(NotFound):
    """No (active) enrolment with that id or document."""


class EnrolmentRejected(InvalidRequest):
    """An enrolment as given does not validate; ``field`` names the first bad field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ImportRejected(InvalidRequest):
    """An import was refused whole; ``errors`` holds (row, field, message) for every bad row."""

    def __init__(self, source: str, errors: list[tuple[int, str, str]]) -> None:
        self.source = source
        self.errors = errors
        first = f"row {errors[0][0]}, field {errors[0][1]!r}: {errors[0][2]}" if errors else "no detail"
        super().__init__(f"{source}: {len(errors)} error(s), nothing imported; first: {first}")


class GateRequestRefused(CentralError, PermissionError):
    """A gate's enrolment request failed authentication; ``reason`` is safe to log and return."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
