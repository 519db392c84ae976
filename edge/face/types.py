"""Plain value types of the face engine (no I/O, no models)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Face:
    """One detected face in image pixels.

    ``box`` is (x, y, width, height). ``landmarks`` is a 5x2 array in YuNet order, as seen in
    the image: eye on the image's left, eye on the image's right, nose tip, mouth corner on the
    image's left, mouth corner on the image's right. ``score`` is the detector confidence 0..1.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def inter_eye_px(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])

    def as_dict(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(self.score, 4),
                "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks]}


@dataclass(frozen=True)
class Quality:
    """Face image quality of one capture (in the spirit of ISO/IEC 29794-5 and 19794-5).

    Each measure is raw and explainable; ``reasons`` lists the failed checks as stable codes
    (``too_small``, ``blurred``, ``pose_yaw``, ``pose_pitch``, ``pose_roll``, ``too_dark``,
    ``too_bright``, ``low_contrast``, ``uneven_light``, ``eyes_closed``) that the gate maps to an
    instruction on the traveler's screen. ``score`` 0..1 ranks frames in a burst.
    """

    inter_eye_px: float
    sharpness: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    brightness: float
    contrast: float
    light_balance: float
    eye_openness: float
    score: float
    reasons: tuple[str, ...] = field(default=())

    @property
    def is_acceptable(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict:
        out = {k: round(float(getattr(self, k)), 3) for k in (
            "score", "inter_eye_px", "sharpness", "yaw_deg", "pitch_deg", "roll_deg",
            "brightness", "contrast", "light_balance", "eye_openness")}
        out["acceptable"] = self.is_acceptable
        out["reasons"] = list(self.reasons)
        return out


@dataclass(frozen=True)
class FaceTemplate:
    """A unit-length embedding plus where and how well it was captured.

    ``model`` and ``model_version`` name the embedder (manifest name and version): embeddings of
    two models, or of two versions of one, never compare.
    """

    embedding: np.ndarray
    face: Face
    quality: Quality
    model: str
    model_version: str = ""

    @property
    def model_tag(self) -> str:
        return model_tag(self.model, self.model_version)


def model_tag(name: str, version: str = "") -> str:
    """One string naming an embedder and its version, as galleries compare them."""
    return f"{name}@{version}" if version else name


@dataclass(frozen=True)
class Verification:
    """A 1:1 decision: cosine ``score`` against ``threshold`` set for ``target_fmr``."""

    score: float
    threshold: float
    match: bool
    target_fmr: float

    def as_dict(self) -> dict:
        return {"score": round(self.score, 5), "threshold": round(self.threshold, 5),
                "match": self.match, "target_fmr": self.target_fmr}
