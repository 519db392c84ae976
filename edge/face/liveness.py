"""Presentation-attack detection (PAD) over a short burst of gate frames. Pure numpy/OpenCV.

Three independent checks, each with its own reason code:

* **Challenge-response** (active): the gate asks, at random, for a head turn to the left or right
  or a blink, and the landmarks across the burst must show it (``challenge_not_met``). A still
  photo or a frozen frame cannot answer; a pre-recorded video answers only if it holds the asked
  action.
* **3-D motion** (passive, needs the turn): when the head turns, a real nose tip moves off the
  plane of the eyes and mouth corners (parallax). A photo turned or tilted to fake the motion is
  planar: its five points stay related by one homography (``planar_motion``).
* **Recapture texture** (passive, every frame): screens and prints leave periodic structure
  (sub-pixel grid and moire, halftone dots) that shows up as isolated peaks in the face's
  high-frequency spectrum (``recapture_texture``).

What this does not stop: a replayed video on a high-resolution screen held far enough that no
pixel grid survives, a 3-D mask, a curved print with a real nose (partly), or injected frames
(a compromised camera link). The gate camera should add IR or depth; see docs/face.md.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .quality import estimate_pose


class Challenge(str, enum.Enum):
    """What the gate asks the traveler to do; left and right are the traveler's own."""

    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    BLINK = "blink"


def pick_challenge(rng: random.Random) -> Challenge:
    """A random challenge, so a pre-recorded video cannot know which action to show."""
    return rng.choice(list(Challenge))


class LivenessPolicy(BaseModel):
    """Thresholds of the three checks (fitted on simulated attacks; see bench/face/RESULTS.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_turn_deg: float = Field(12.0, gt=0, le=60, description="yaw change the turn must reach")
    blink_closed_ratio: float = Field(0.5, gt=0, lt=1, description="openness below ratio x baseline counts as closed")
    min_parallax_ied: float = Field(0.06, ge=0, description="nose off-plane motion, in inter-eye distances")
    parallax_min_yaw_deg: float = Field(10.0, gt=0, description="frames turned at least this much are used")
    max_texture_score: float = Field(1.45, gt=0, description="spectral peak strength above which a frame looks recaptured; 99th percentile of simulated bona fide + 0.05 (bench.face.pad_eval)")


@dataclass(frozen=True)
class LivenessFrame:
    """What PAD needs from one frame: 5 landmarks, eye openness and a grey face crop."""

    landmarks: np.ndarray
    eye_openness: float
    face_grey: np.ndarray


@dataclass(frozen=True)
class LivenessResult:
    """``passed`` only when no check failed; ``reasons`` lists the failed checks."""

    passed: bool
    reasons: tuple[str, ...]
    challenge: Challenge
    turn_deg: float
    parallax_ied: float
    texture_score: float

    def as_dict(self) -> dict:
        return {"passed": self.passed, "reasons": list(self.reasons), "challenge": self.challenge.value,
                "turn_deg": round(self.turn_deg, 2), "parallax_ied": round(self.parallax_ied, 4),
                "texture_score": round(self.texture_score, 3)}


def face_texture(image: np.ndarray, box: Sequence[float], size_px: int = 128) -> np.ndarray:
    """The grey central face region (no background), resized to a fixed square."""
    x, y, w, h = box
    cx, cy, half = x + w / 2, y + h / 2, 0.35 * min(w, h)
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(image.shape[1], cx + half)), int(min(image.shape[0], cy + half))
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image[y0:y1, x0:x1]
    return cv2.resize(grey, (size_px, size_px), interpolation=cv2.INTER_AREA)


def texture_score(face_grey: np.ndarray) -> float:
    """Strength of isolated high-frequency spectral peaks (periodic recapture structure).

    The log spectrum minus its local median leaves peaks; natural skin gives a smooth spectrum.
    The axes are masked: image borders and JPEG blocks put energy there in every photo.
    """
    g = face_grey.astype(np.float32)
    g = g - cv2.GaussianBlur(g, (0, 0), 3)  # keep fine detail only
    n = g.shape[0]
    win = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    spec = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(g * win))))
    smooth = cv2.medianBlur(spec.astype(np.float32), 5)
    resid = spec - smooth
    yy, xx = np.mgrid[:n, :n] - n // 2
    r = np.hypot(yy, xx) / n
    mask = (r > 0.12) & (r < 0.48) & (np.abs(xx) > 2) & (np.abs(yy) > 2)
    return float(np.max(resid[mask]))


def _yaws(frames: Sequence[LivenessFrame]) -> np.ndarray:
    return np.array([estimate_pose(f.landmarks)[0] for f in frames])


def turn_reached(frames: Sequence[LivenessFrame], challenge: Challenge) -> float:
    """Largest yaw change from the most frontal frame in the asked direction (degrees, >= 0)."""
    yaws = _yaws(frames)
    base = float(yaws[int(np.argmin(np.abs(yaws)))])
    # The traveler's left is the image's right; our yaw is positive when the nose moves right.
    sign = 1.0 if challenge == Challenge.TURN_LEFT else -1.0
    return max(0.0, float(np.max(sign * (yaws - base))))


def blinked(frames: Sequence[LivenessFrame], closed_ratio: float) -> bool:
    """Open, then closed (below ratio x baseline), then open again."""
    o = np.array([f.eye_openness for f in frames])
    if o.size < 3:
        return False
    base = float(np.percentile(o, 80))
    closed = np.nonzero(o < closed_ratio * base)[0]
    if closed.size == 0:
        return False
    first, last = int(closed[0]), int(closed[-1])
    return bool(np.any(o[:first] > 0.8 * base) and np.any(o[last + 1:] > 0.8 * base))


def parallax(frames: Sequence[LivenessFrame], min_yaw_deg: float) -> float:
    """Nose displacement off the homography of the four near-planar points (eyes, mouth corners),
    in inter-eye distances, over frames turned at least ``min_yaw_deg`` from the most frontal one.

    Returns 0 when no frame turned that far (nothing to measure)."""
    yaws = _yaws(frames)
    ref = int(np.argmin(np.abs(yaws)))
    src = frames[ref].landmarks.astype(np.float32)
    corners = [0, 1, 3, 4]
    ied = float(np.linalg.norm(src[1] - src[0])) or 1.0
    worst = 0.0
    for k, frame in enumerate(frames):
        if abs(yaws[k] - yaws[ref]) < min_yaw_deg:
            continue
        dst = frame.landmarks.astype(np.float32)
        h = cv2.getPerspectiveTransform(src[corners], dst[corners])
        nose = cv2.perspectiveTransform(src[None, 2:3], h)[0, 0]
        worst = max(worst, float(np.linalg.norm(nose - dst[2])) / ied)
    return worst


def assess_liveness(frames: Sequence[LivenessFrame], challenge: Challenge,
                    policy: LivenessPolicy | None = None) -> LivenessResult:
    """Run the three checks on a burst (in time order) captured while *challenge* was shown."""
    policy = policy or LivenessPolicy()
    if len(frames) < 3:
        return LivenessResult(False, ("too_few_frames",), challenge, 0.0, 0.0, 0.0)
    reasons = []
    turn = 0.0
    par = 0.0
    if challenge in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT):
        turn = turn_reached(frames, challenge)
        if turn < policy.min_turn_deg:
            reasons.append("challenge_not_met")
        else:
            par = parallax(frames, policy.parallax_min_yaw_deg)
            if par < policy.min_parallax_ied:
                reasons.append("planar_motion")
    elif not blinked(frames, policy.blink_closed_ratio):
        reasons.append("challenge_not_met")
    # Median over the burst: one sharp frame with a stray peak must not decide alone.
    tex = float(np.median([texture_score(f.face_grey) for f in frames]))
    if tex > policy.max_texture_score:
        reasons.append("recapture_texture")
    return LivenessResult(not reasons, tuple(reasons), challenge, turn, par, tex)
