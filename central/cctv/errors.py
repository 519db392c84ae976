"""Errors of central's CCTV area.

    CentralError (central.errors)
    ├── InvalidRequest (400)
    │   ├── PhotoRejected           a watchlist photo gave no usable template; .reasons
    │   └── AlarmDecisionRefused    confirm/dismiss of an alarm already decided, or bad input
    └── NotFound (404)
        ├── CameraNotFound
        └── AlarmNotFound
"""

from __future__ import annotations

from central.errors import InvalidRequest, NotFound


class PhotoRejected(InvalidRequest):
    """A watchlist photo gave no usable template; ``reasons`` are the face engine's codes."""

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class AlarmDecisionRefused(InvalidRequest):
    """The alarm cannot be confirmed or dismissed now (already decided, or bad input)."""


class CameraNotFound(NotFound):
    """No camera registered under that id."""


class AlarmNotFound(NotFound):
    """No CCTV alarm with that id."""
