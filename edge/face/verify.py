"""1:1 comparison and operating thresholds set from a target false match rate (pure numpy).

The threshold is the score that, on a calibration set of impostor pairs, lets through at most
``target_fmr`` of them. The default target is 0.05 %, the EU Entry/Exit System figure. Calibrated
thresholds live in the embedder's manifest under ``operating_points`` (written by
``bench/face/verification.py --write-calibration``), keyed by the FMR as a string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .errors import CalibrationMissing
from .types import Verification

DEFAULT_TARGET_FMR = 0.0005


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings (unit vectors give the dot product)."""
    a = np.asarray(a, np.float32).ravel()
    b = np.asarray(b, np.float32).ravel()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b)) or 1e-12
    return float(a @ b) / denom


def threshold_for_fmr(impostor_scores: np.ndarray, target_fmr: float) -> float:
    """Smallest threshold t with count(impostor >= t) <= floor(target_fmr * N).

    With N impostor pairs the resolution is 1/N: at N = 19,000 and FMR 0.05 % nine impostors
    may still pass, at N = 1,000 none may.
    """
    scores = np.sort(np.asarray(impostor_scores, np.float64))[::-1]
    if scores.size == 0:
        raise ValueError("no impostor scores to calibrate on")
    allowed = math.floor(target_fmr * scores.size + 1e-9)
    if allowed >= scores.size:
        return float(scores[-1])
    return float(np.nextafter(scores[allowed], np.inf))


def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) at *threshold*, deciding match when score >= threshold."""
    genuine = np.asarray(genuine)
    impostor = np.asarray(impostor)
    return float(np.mean(impostor >= threshold)), float(np.mean(genuine < threshold))


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(EER, threshold) where FMR and FNMR cross, scanning every observed score."""
    candidates = np.unique(np.concatenate([genuine, impostor]))
    g = np.sort(genuine)
    i = np.sort(impostor)
    fnmr = np.searchsorted(g, candidates, side="left") / g.size
    fmr = 1 - np.searchsorted(i, candidates, side="left") / i.size
    k = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[k] + fnmr[k]) / 2), float(candidates[k])


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FMR, FNMR) arrays over every observed score, for a DET plot."""
    candidates = np.unique(np.concatenate([genuine, impostor]))
    g = np.sort(genuine)
    i = np.sort(impostor)
    fnmr = np.searchsorted(g, candidates, side="left") / g.size
    fmr = 1 - np.searchsorted(i, candidates, side="left") / i.size
    return fmr, fnmr


def operating_threshold(operating_points: Mapping[str, float], target_fmr: float) -> float:
    """The calibrated threshold for *target_fmr* from a manifest's ``operating_points``."""
    for key, value in operating_points.items():
        if math.isclose(float(key), target_fmr, rel_tol=1e-6):
            return float(value)
    raise CalibrationMissing(
        f"no calibrated threshold for FMR {target_fmr:g}; have {sorted(operating_points)}")


def decide(score: float, threshold: float, target_fmr: float) -> Verification:
    return Verification(score=float(score), threshold=float(threshold),
                        match=bool(score >= threshold), target_fmr=target_fmr)
