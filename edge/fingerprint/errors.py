"""Errors of the fingerprint engine.

    FingerprintError
    ├── CaptureRefused(FingerprintError, ValueError)      the capture is unusable; ask to press again
    ├── TemplateFormatError(FingerprintError, ValueError) an ISO/IEC 19794-2 record cannot be read
    └── CalibrationError(FingerprintError, ValueError)    no threshold for the asked false match rate

Model loading raises ``edge.modelstore.ModelError`` subclasses unchanged.
"""

from __future__ import annotations


class FingerprintError(Exception):
    """Base of fingerprint engine errors."""


class CaptureRefused(FingerprintError, ValueError):
    """The capture is too poor to enrol or verify; ``reason`` is a stable code for the panel."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"capture refused ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


class TemplateFormatError(FingerprintError, ValueError):
    """An ISO/IEC 19794-2 minutiae record is malformed or uses an unsupported feature."""


class CalibrationError(FingerprintError, ValueError):
    """The score calibration cannot give a threshold for the asked false match rate."""
