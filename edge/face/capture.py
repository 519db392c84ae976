"""Multi-frame capture at the gate: observe each frame of a short burst, keep the best one for
matching, and hand the burst to PAD. The camera and the clock live in the caller."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .align import align
from .engine import FaceEngine
from .errors import CaptureRefused, NoFaceFound
from .liveness import LivenessFrame, face_texture
from .quality import assess, eye_openness
from .types import Face, FaceTemplate, Quality


@dataclass(frozen=True)
class FrameObservation:
    """One burst frame: where the face is, how good it is, and what PAD needs (no embedding yet:
    only the best frame is embedded, which saves an embedder run per frame)."""

    index: int
    face: Face
    quality: Quality
    aligned: np.ndarray
    liveness: LivenessFrame


def observe(engine: FaceEngine, frame: np.ndarray, index: int = 0) -> FrameObservation | None:
    """Detect, align and assess one frame; None when no face is seen."""
    try:
        face = engine.primary_face(frame)
    except NoFaceFound:
        return None
    aligned = align(frame, face.landmarks)
    quality = assess(face, aligned, engine.policy)
    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY)
    live = LivenessFrame(landmarks=face.landmarks, eye_openness=eye_openness(grey),
                         face_grey=face_texture(frame, face.box))
    return FrameObservation(index, face, quality, aligned, live)


def best_observation(observations: Sequence[FrameObservation | None]) -> FrameObservation:
    """The acceptable frame with the highest quality score; refuses with the commonest reasons."""
    seen = [o for o in observations if o is not None]
    good = [o for o in seen if o.quality.is_acceptable]
    if good:
        return max(good, key=lambda o: o.quality.score)
    if not seen:
        raise CaptureRefused("no face in any frame of the burst", ("no_face",))
    counts = Counter(r for o in seen for r in o.quality.reasons)
    reasons = tuple(r for r, _ in counts.most_common())
    raise CaptureRefused("no acceptable frame: " + ", ".join(reasons), reasons)


def capture_best(engine: FaceEngine, frames: Iterable[np.ndarray]) -> tuple[FaceTemplate, list[FrameObservation | None]]:
    """Best-quality template over a burst, plus every observation (for PAD and the audit)."""
    kept = list(frames)
    observations = [observe(engine, f, k) for k, f in enumerate(kept)]
    best = best_observation(observations)
    embedding = engine.embedder.embed_face(kept[best.index], best.face.landmarks, best.aligned)
    return FaceTemplate(embedding, best.face, best.quality, engine.embedder_name,
                        engine.embedder_version), observations
