"""Fingerprint engine: extraction, ISO/IEC 19794-2 templates, MCC matching, calibrated 1:1.

Public surface: :class:`FingerprintEngine`, :class:`Template`, :class:`Verification` and the
errors in :mod:`edge.fingerprint.errors`. See docs/fingerprint.md.
"""

from .engine import FingerprintEngine, Verification
from .errors import (
    CalibrationError,
    CaptureRefused,
    FingerprintError,
    TemplateFormatError,
)
from .template import BIFURCATION, ENDING, Template

__all__ = [
    "BIFURCATION", "ENDING", "CalibrationError", "CaptureRefused", "FingerprintEngine",
    "FingerprintError", "Template", "TemplateFormatError", "Verification",
]
