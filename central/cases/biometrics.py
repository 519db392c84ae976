"""Capturing an applicant's face and fingerprint at the interview (doc-01 step 7, int-01 step 7)
with the gates' own engines, so the enrolment they become is what a gate compares against.

Images come from an upload or the counter's camera; they are decoded, turned into templates and
dropped: only the templates (and their quality figures) are stored, on the case, until the
approval makes them the enrolment (``effects._enrol``). A poor capture is refused with its
reasons, as the gate would refuse it, so the officer retakes it while the applicant is there.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from central.cases.errors import CaseRefused
from central.cases.models import CaseBiometrics

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 2 * 1024 * 1024
DEFAULT_FINGER = 2  # ISO/IEC 19794-2 finger position: right index, as the gates ask for


@dataclass(frozen=True)
class Capture:
    face_template: bytes | None
    face_model: str | None
    face_model_version: str | None
    fingerprint_iso: bytes | None
    finger_position: int | None
    quality: dict[str, Any]


class CaptureEngines:
    """The face and fingerprint engines, loaded once per process on first use (models by manifest)."""

    def __init__(self, face: Any = None, finger: Any = None) -> None:
        self._face, self._finger = face, finger
        self._lock = threading.Lock()

    def face(self) -> Any:
        with self._lock:
            if self._face is None:
                from edge.face import FaceEngine

                self._face = FaceEngine.from_models()
            return self._face

    def finger(self) -> Any:
        with self._lock:
            if self._finger is None:
                from edge.fingerprint import FingerprintEngine

                self._finger = FingerprintEngine.from_models()
            return self._finger


def _decode(data: bytes, what: str, *, grey: bool) -> np.ndarray:
    from edge.imageload import FACE_LIMITS, FINGERPRINT_LIMITS, ImageRefused, decode_image

    if not data:
        raise CaseRefused(f"no {what} image")
    if len(data) > MAX_IMAGE_BYTES:
        raise CaseRefused(f"the {what} image is larger than {MAX_IMAGE_BYTES // 1024} KiB")
    try:
        return decode_image(data, limits=FINGERPRINT_LIMITS if grey else FACE_LIMITS, grey=grey)
    except ImageRefused as exc:
        if exc.reason == "too_large":
            raise CaseRefused(f"the {what} image is too large: {exc}") from exc
        raise CaseRefused(f"the {what} image could not be read (JPEG or PNG expected): {exc}") from exc


def capture(engines: CaptureEngines, *, face_image: bytes | None, finger_image: bytes | None,
            finger_position: int = DEFAULT_FINGER) -> Capture:
    """Templates of the face and the fingerprint; at least one is needed, a poor one is refused."""
    from edge.face.errors import FaceError
    from edge.fingerprint.errors import FingerprintError

    if not face_image and not finger_image:
        raise CaseRefused("capture the face, the fingerprint, or both")
    quality: dict[str, Any] = {}
    face_template = face_model = face_version = None
    if face_image:
        engine = engines.face()
        try:
            template = engine.capture(_decode(face_image, "face", grey=False))
        except FaceError as exc:
            raise CaseRefused(f"face not captured: {exc}; take the photo again") from None
        face_template = np.asarray(template.embedding, dtype="<f4").tobytes()
        face_model, face_version = template.model, template.model_version
        quality["face_score"] = round(float(template.quality.score), 3)
    fingerprint_iso = None
    if finger_image:
        engine = engines.finger()
        try:
            minutiae = engine.extract(_decode(finger_image, "fingerprint", grey=True))
        except FingerprintError as exc:
            raise CaseRefused(f"fingerprint not captured: {exc}; press the finger again") from None
        fingerprint_iso = engine.to_iso(minutiae)
        quality["minutiae"] = int(len(minutiae.xy))
        quality["finger_quality"] = int(minutiae.image_quality)
    return Capture(face_template, face_model, face_version, fingerprint_iso,
                   finger_position if fingerprint_iso else None, quality)


def store(session: Any, case_id: int, result: Capture, captured_by: str | None) -> CaseBiometrics:
    """Keep the templates on the case; a new capture replaces what it captures, keeps the rest."""
    row = session.get(CaseBiometrics, case_id) or CaseBiometrics(case_id=case_id, quality={})
    if result.face_template is not None:
        row.face_template, row.face_model, row.face_model_version = (
            result.face_template, result.face_model, result.face_model_version)
    if result.fingerprint_iso is not None:
        row.fingerprint_iso, row.finger_position = result.fingerprint_iso, result.finger_position
    row.quality = {**(row.quality or {}), **result.quality}
    row.captured_by = captured_by
    session.add(row)
    return row
