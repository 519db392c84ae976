"""Errors of the face engine.

    FaceError
    ├── NoFaceFound(FaceError, LookupError)        no face in the image (or none big enough)
    ├── CaptureRefused(FaceError, ValueError)      a face was found but fails quality; .reasons
    ├── BadImage(FaceError, ValueError)            not a BGR uint8 image, or unreadable file
    ├── CalibrationMissing(FaceError, KeyError)    no operating threshold for the asked FMR
    └── ModelMismatch(FaceError, ValueError)       embeddings of two models (or versions) mixed

Model loading errors come from ``edge.modelstore`` (ModelNotFound, ModelChecksumMismatch).
"""

from __future__ import annotations


class FaceError(Exception):
    """Base of face engine errors."""


class NoFaceFound(FaceError, LookupError):
    """No face was detected in the image."""


class CaptureRefused(FaceError, ValueError):
    """A face was found but the capture fails quality; ``reasons`` says why, for the traveler."""

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class BadImage(FaceError, ValueError):
    """The input is not a BGR uint8 image or the file cannot be decoded."""


class CalibrationMissing(FaceError, KeyError):
    """The model manifest holds no operating threshold for the requested false match rate."""


class ModelMismatch(FaceError, ValueError):
    """Embeddings of different embedder models (or versions) were mixed; they never compare."""
