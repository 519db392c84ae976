"""The gate's 1:1 verifiers on the real engines, against the templates enrolled at central.

``FingerprintVerifier`` and ``FaceVerifier`` implement ``recognition.BiometricVerifier``: given
what the sensor or camera captured and the traveler read from the MRZ, they fetch the enrolled
templates (``EnrolmentClient``: signed, budgeted, cached; the runtime already asked for them when
the MRZ was read, see ``prefetch``), run the engine, and answer a ``BiometricResult`` with the
score and the threshold, or a refusal whose reason the machine turns into "press again", "look
again" or "see an officer".

Nothing here keeps a sample: the face verifier returns the captured crop (and the enrolled
portrait, when the document reader delivered one) in the ``Verdict``, and the runtime sends them
on only when the step failed and a supervisor must decide.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from edge.gate.enrolment_client import EnrolledTemplates, EnrolmentLookup
from edge.gate.events import ENROLMENT_UNAVAILABLE, NOT_ENROLLED
from edge.gate.recognition import PresentedDocument, Verdict
from protocol.messages import MAX_FACE_JPEG_BYTES, BiometricResult, TravelerDocument

log = logging.getLogger(__name__)

EVIDENCE_HEIGHT_PX = 160  # big enough for an officer to judge, small enough to stay minimal


class EnrolmentSource(Protocol):
    """Where the enrolled templates come from (``EnrolmentClient`` in production)."""

    def fetch(self, document_number: str, issuing_state: str) -> EnrolmentLookup: ...


class Prefetcher:
    """Asks for a traveler's enrolment as soon as the MRZ is read, off the event thread, so the
    answer is in the client's cache by the time the finger is on the sensor (the walk in takes
    seconds; the fetch budget is 300 ms)."""

    def __init__(self, source: EnrolmentSource, *, workers: int = 1) -> None:
        self._source = source
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrolment-prefetch")
        self._closed = threading.Event()

    def __call__(self, traveler: TravelerDocument) -> None:
        if not self._closed.is_set():
            self._pool.submit(self._fetch, traveler.document_number, traveler.issuing_state)

    def _fetch(self, number: str, state: str) -> None:
        try:
            lookup = self._source.fetch(number, state)
        except Exception:  # the verifier fetches again (and fails closed) if this one broke
            log.exception("enrolment prefetch failed")
            return
        log.debug("enrolment prefetch: %s in %.1f ms", lookup.status, lookup.elapsed_ms)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _enrolled(source: EnrolmentSource, traveler: TravelerDocument) -> tuple[EnrolledTemplates | None, str | None]:
    lookup = source.fetch(traveler.document_number, traveler.issuing_state)
    if lookup.status == "found" and lookup.templates is not None:
        return lookup.templates, None
    if lookup.status == "miss":
        return None, NOT_ENROLLED
    log.warning("enrolment lookup %s (%s): the traveler goes to an officer", lookup.status, lookup.reason)
    return None, ENROLMENT_UNAVAILABLE


class FingerprintVerifier:
    """1:1 fingerprint (verifikasi sidik jari) with ``edge.fingerprint.FingerprintEngine``.

    The sample is the sensor's grey image (uint8, 500 ppi); the enrolled template is the ISO/IEC
    19794-2 record from the enrolment.
    """

    modality = "fingerprint"

    def __init__(self, engine: Any, enrolments: EnrolmentSource) -> None:
        self.engine = engine
        self.enrolments = enrolments

    def verify(
        self, sample: Any, traveler: TravelerDocument, *, document: PresentedDocument | None = None,
        evidence: bool = False,
    ) -> BiometricResult:
        from edge.fingerprint.errors import CaptureRefused, FingerprintError

        threshold = float(self.engine.threshold)
        if not isinstance(sample, np.ndarray):
            return self._refused("no finger", threshold)
        enrolled, why = _enrolled(self.enrolments, traveler)
        if enrolled is None or enrolled.fingerprint_iso is None:
            return self._refused(why or NOT_ENROLLED, threshold)
        try:
            probe = self.engine.extract(sample)
        except CaptureRefused as exc:
            return self._refused(exc.reason, threshold)  # a stable code: the panel says press again
        try:
            reference = self.engine.from_iso(enrolled.fingerprint_iso)
        except FingerprintError as exc:
            log.error("enrolled fingerprint template unusable: %s", exc)
            return self._refused(ENROLMENT_UNAVAILABLE, threshold)
        verdict = self.engine.verify(probe, reference)
        return BiometricResult(modality="fingerprint", match=bool(verdict.match), score=round(float(verdict.score), 4),
                               threshold=round(threshold, 4))

    @staticmethod
    def _refused(reason: str, threshold: float) -> BiometricResult:
        return BiometricResult(modality="fingerprint", match=False, threshold=round(threshold, 4), refused_reason=reason)


@dataclass(frozen=True, repr=False)
class FaceSample:
    """A burst of camera frames (BGR uint8), in time order, and the liveness challenge the
    traveler was shown while it was taken (None: no challenge was shown)."""

    frames: tuple[np.ndarray, ...]
    challenge: Any = None  # edge.face.liveness.Challenge

    def __repr__(self) -> str:
        return f"FaceSample(frames={len(self.frames)}, challenge={self.challenge})"


class FaceVerifier:
    """1:1 face (verifikasi wajah) with ``edge.face.FaceEngine`` over a short burst.

    The best-quality frame is embedded and compared with the enrolled template. With
    ``require_liveness`` (the default) a burst must also pass presentation-attack detection
    (challenge response and the recapture check of ``edge.face.liveness``); a single frame, or a
    burst taken without a challenge, is then refused so the gate asks the traveler to look again.
    """

    modality = "face"

    def __init__(self, engine: Any, enrolments: EnrolmentSource, *, require_liveness: bool = True,
                 liveness_policy: Any = None) -> None:
        self.engine = engine
        self.enrolments = enrolments
        self.require_liveness = require_liveness
        self.liveness_policy = liveness_policy

    def verify(
        self, sample: Any, traveler: TravelerDocument, *, document: PresentedDocument | None = None,
        evidence: bool = False,
    ) -> Verdict:
        """*evidence*: return the captured face (and the document's) even on a match, for an
        officer identifying a held traveler."""
        from edge.face.capture import capture_best
        from edge.face.errors import CaptureRefused, FaceError
        from edge.face.liveness import assess_liveness

        threshold = round(float(self.engine.threshold), 4)
        frames = _frames(sample)
        if not frames:
            return self._refused("no face", threshold)
        enrolled, why = _enrolled(self.enrolments, traveler)
        if enrolled is None or enrolled.face is None:
            return self._refused(why or NOT_ENROLLED, threshold)
        if not self._same_model(enrolled):
            log.error("enrolled face template is from %s %s, this gate runs %s %s", enrolled.face_model,
                      enrolled.face_model_version, self.engine.embedder_name, self.engine.embedder_version)
            return self._refused(ENROLMENT_UNAVAILABLE, threshold)
        try:
            template, observations = capture_best(self.engine, frames)
        except CaptureRefused as exc:
            return self._refused(",".join(exc.reasons) or "quality", threshold)
        except FaceError as exc:
            log.warning("face capture failed: %s", exc)
            return self._refused("no face", threshold)
        best_frame = frames[_best_index(observations, template)]
        if self.require_liveness:
            if isinstance(sample, FaceSample) and sample.challenge is not None:
                live = assess_liveness([o.liveness for o in observations if o is not None], sample.challenge,
                                       self.liveness_policy)
                reasons = live.reasons
            else:
                reasons = ("no_challenge",)
            if reasons:
                log.info("face presentation refused: %s", ",".join(reasons))
                refused = BiometricResult(modality="face", match=False, threshold=threshold,
                                          refused_reason="liveness: " + ",".join(reasons))
                return self._with_evidence(refused, best_frame, template, document)
        result = self.engine.verify(template, enrolled.face)
        outcome = BiometricResult(modality="face", match=bool(result.match), score=round(float(result.score), 4),
                                  threshold=threshold)
        if outcome.match and not evidence:
            return Verdict(outcome)  # nothing for anyone to look at: no image leaves this call
        return self._with_evidence(outcome, best_frame, template, document)

    def _with_evidence(self, result: BiometricResult, frame: np.ndarray, template: Any,
                       document: PresentedDocument | None) -> Verdict:
        portrait = self._document_portrait(document)
        return Verdict(result, captured_jpeg=evidence_jpeg(frame, template.face.box), enrolled_jpeg=portrait,
                       enrolled_source="document" if portrait else None)

    def _same_model(self, enrolled: EnrolledTemplates) -> bool:
        """Templates of two models (or two versions of one) never compare; an enrolment that
        names no version is trusted on the model name alone."""
        if enrolled.face_model != self.engine.embedder_name:
            return False
        version = getattr(self.engine, "embedder_version", "")
        return not (enrolled.face_model_version and version and enrolled.face_model_version != version)

    @staticmethod
    def _refused(reason: str, threshold: float) -> Verdict:
        return Verdict(BiometricResult(modality="face", match=False, threshold=threshold, refused_reason=reason))

    def _document_portrait(self, document: PresentedDocument | None) -> bytes | None:
        """The holder's photo as the document shows it: the reader's portrait, else the face
        found on the page image (for the supervisor's eyes only; the match is against the
        enrolled template)."""
        if document is None:
            return None
        if document.portrait_jpeg is not None:
            return document.portrait_jpeg
        if document.image is None:
            return None
        from edge.face.errors import FaceError

        try:
            face = self.engine.primary_face(document.image)
        except FaceError:
            return None
        return evidence_jpeg(document.image, face.box)


def _frames(sample: Any) -> tuple[np.ndarray, ...]:
    if isinstance(sample, FaceSample):
        return tuple(f for f in sample.frames if isinstance(f, np.ndarray))
    if isinstance(sample, np.ndarray):
        return (sample,)
    if isinstance(sample, Sequence) and not isinstance(sample, str | bytes):
        return tuple(f for f in sample if isinstance(f, np.ndarray))
    return ()


def _best_index(observations: Sequence[Any], template: Any) -> int:
    for obs in observations:
        if obs is not None and obs.face is template.face:
            return int(obs.index)
    return 0


def evidence_jpeg(image: np.ndarray, box: Sequence[float], *, height_px: int = EVIDENCE_HEIGHT_PX) -> bytes | None:
    """The face with some context around it, as a small JPEG under the wire limit (None if the
    box is empty). Quality steps down until it fits."""
    x, y, w, h = (float(v) for v in box)
    if w <= 1 or h <= 1:
        return None
    cx, cy, side = x + w / 2, y + h / 2, max(w, h) * 1.6
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side * 0.55))
    x1, y1 = int(min(image.shape[1], cx + side / 2)), int(min(image.shape[0], cy + side * 0.65))
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    scale = height_px / crop.shape[0]
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), height_px), interpolation=cv2.INTER_AREA)
    for quality in (85, 70, 50, 30):
        ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) <= MAX_FACE_JPEG_BYTES:
            return data.tobytes()
    return None
