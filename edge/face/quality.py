"""Face image quality, in the spirit of ISO/IEC 29794-5 (quality components) and ISO/IEC 19794-5
(frontal capture: pose, illumination, eyes, size).

All measures come from the 5 detector landmarks and the aligned 112x112 crop, so they cost well
under a millisecond. They are deliberately simple and explainable; each failed check yields a
stable reason code that the gate turns into an instruction ("look at the camera", "come closer").
The eye-openness measure is a heuristic (YuNet gives no eyelid points): dark pupil/iris pixels
inside the template's eye windows, compared with the cheek.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .align import TEMPLATE_112
from .types import Face, Quality

# Fraction of the way from the eye line to the mouth line where a frontal nose tip sits.
_NOSE_T0 = float((TEMPLATE_112[2, 1] - TEMPLATE_112[:2, 1].mean())
                 / (TEMPLATE_112[3:, 1].mean() - TEMPLATE_112[:2, 1].mean()))
# Depth of the nose tip in front of the eye plane, in inter-eye distances (anthropometric mean).
_NOSE_DEPTH_IED = 0.6


class QualityPolicy(BaseModel):
    """Thresholds for refusing a capture; defaults suit a gate camera at about 50 cm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_inter_eye_px: float = Field(40.0, ge=8, le=400, description="ISO 19794-5 asks 60+; LFW-size faces have about 40")
    min_sharpness: float = Field(25.0, ge=0, description="variance of the Laplacian on the aligned grey crop")
    max_yaw_deg: float = Field(25.0, gt=0, le=90)
    max_pitch_deg: float = Field(25.0, gt=0, le=90)
    max_roll_deg: float = Field(15.0, gt=0, le=90, description="YuNet landmarks under-report roll beyond about 15 degrees")
    min_brightness: float = Field(50.0, ge=0, le=255, description="mean grey of the face, 0..255")
    max_brightness: float = Field(215.0, ge=0, le=255)
    min_contrast: float = Field(18.0, ge=0, description="std of grey over the face")
    max_light_imbalance: float = Field(0.45, ge=0, le=1, description="|left-right| / mean brightness")
    min_eye_openness: float = Field(0.12, ge=0, le=1)


def estimate_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from 5 points; a coarse estimate, signs: yaw + = nose to image right."""
    pts = np.asarray(landmarks, np.float64)
    eye_l, eye_r, nose = pts[0], pts[1], pts[2]
    mouth = (pts[3] + pts[4]) / 2
    eye_mid = (eye_l + eye_r) / 2
    d = eye_r - eye_l
    ied = float(np.hypot(*d)) or 1.0
    roll = math.degrees(math.atan2(d[1], d[0]))
    c, s = d[0] / ied, d[1] / ied
    derot = lambda v: np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])
    n = derot(nose - eye_mid)
    m = derot(mouth - eye_mid)
    yaw = math.degrees(math.atan2(n[0] / ied, _NOSE_DEPTH_IED))
    span = m[1] if abs(m[1]) > 1e-6 else 1e-6
    t = n[1] / span
    pitch = math.degrees(math.atan2((t - _NOSE_T0) * span / ied, _NOSE_DEPTH_IED))
    return yaw, pitch, roll


def eye_openness(grey112: np.ndarray) -> float:
    """How much darker the darkest part of each eye window is than the cheeks (0..1); lower of two."""
    cheeks = np.concatenate([grey112[70:84, 22:36].ravel(), grey112[70:84, 76:90].ravel()])
    ref = float(np.median(cheeks)) or 1.0
    values = []
    for x, y in TEMPLATE_112[:2]:
        x0, y0 = round(x), round(y)
        # A tight window (11x7 px of 112): wider ones reach lashes and brows, dark when closed too.
        patch = grey112[y0 - 3:y0 + 4, x0 - 5:x0 + 6]
        values.append(max(0.0, (ref - float(np.percentile(patch, 10))) / ref))
    return min(values)


def assess(face: Face, aligned_bgr: np.ndarray, policy: QualityPolicy | None = None) -> Quality:
    """Measure one capture and list the reasons it would be refused under *policy*."""
    policy = policy or QualityPolicy()
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    core = grey[24:104, 16:96]
    sharpness = float(cv2.Laplacian(core, cv2.CV_64F).var())
    brightness = float(core.mean())
    contrast = float(core.std())
    left, right = float(core[:, :40].mean()), float(core[:, 40:].mean())
    balance = abs(left - right) / max(brightness, 1.0)
    yaw, pitch, roll = estimate_pose(face.landmarks)
    openness = eye_openness(grey)
    ied = face.inter_eye_px

    reasons = []
    if ied < policy.min_inter_eye_px:
        reasons.append("too_small")
    if sharpness < policy.min_sharpness:
        reasons.append("blurred")
    if abs(yaw) > policy.max_yaw_deg:
        reasons.append("pose_yaw")
    if abs(pitch) > policy.max_pitch_deg:
        reasons.append("pose_pitch")
    if abs(roll) > policy.max_roll_deg:
        reasons.append("pose_roll")
    if brightness < policy.min_brightness:
        reasons.append("too_dark")
    if brightness > policy.max_brightness:
        reasons.append("too_bright")
    if contrast < policy.min_contrast:
        reasons.append("low_contrast")
    if balance > policy.max_light_imbalance:
        reasons.append("uneven_light")
    if openness < policy.min_eye_openness:
        reasons.append("eyes_closed")

    # Soft score for ranking frames: each factor is 1 when comfortably good.
    score = (min(1.0, ied / (1.5 * policy.min_inter_eye_px))
             * min(1.0, sharpness / (4 * policy.min_sharpness))
             * max(0.0, 1 - (abs(yaw) / 45) ** 2) * max(0.0, 1 - (abs(pitch) / 45) ** 2)
             * max(0.0, 1 - (abs(roll) / 45) ** 2)
             * min(1.0, contrast / (2 * policy.min_contrast))
             * max(0.0, 1 - balance)
             * min(1.0, openness / (2 * policy.min_eye_openness))
             * min(1.0, face.score / 0.9))
    return Quality(inter_eye_px=ied, sharpness=sharpness, yaw_deg=yaw, pitch_deg=pitch,
                   roll_deg=roll, brightness=brightness, contrast=contrast, light_balance=balance,
                   eye_openness=openness, score=float(score), reasons=tuple(reasons))

REASON_TEXT = {
    "no_face": "No face seen: please look at the camera.",
    "too_small": "Please come closer to the camera.",
    "blurred": "Please hold still.",
    "pose_yaw": "Please face the camera straight on.",
    "pose_pitch": "Please keep your head level.",
    "pose_roll": "Please keep your head upright.",
    "too_dark": "Face too dark: please step into the light.",
    "too_bright": "Face over-exposed: please step back from the light.",
    "low_contrast": "Please remove anything covering your face.",
    "uneven_light": "Uneven light on your face: please face the camera.",
    "eyes_closed": "Please open your eyes.",
}
