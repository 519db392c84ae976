"""Verification error rates from genuine and impostor scores (higher score = more similar)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ErrorRates:
    eer: float
    fmr100: float  # lowest FNMR with FMR <= 1 %
    fmr1000: float  # lowest FNMR with FMR <= 0.1 %
    fnmr_at_target: float  # lowest FNMR with FMR <= target (0.05 %)
    genuine: int
    impostor: int


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, FMR, FNMR) at every distinct score; a pair is accepted when score >= threshold."""
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    thr = np.unique(np.concatenate([g, i, [np.inf]]))
    fmr = 1.0 - np.searchsorted(i, thr, side="left") / len(i)
    fnmr = np.searchsorted(g, thr, side="left") / len(g)
    return thr, fmr, fnmr


def error_rates(genuine: np.ndarray, impostor: np.ndarray, target_fmr: float = 0.0005) -> ErrorRates:
    _, fmr, fnmr = det_curve(genuine, impostor)
    # EER: where the two curves cross (FMR falls, FNMR rises with the threshold)
    k = int(np.argmax(fnmr >= fmr))
    if k > 0:
        x0, x1 = fmr[k - 1] - fnmr[k - 1], fmr[k] - fnmr[k]
        w = x0 / (x0 - x1) if x0 != x1 else 0.5
        eer = float((1 - w) * (fmr[k - 1] + fnmr[k - 1]) / 2 + w * (fmr[k] + fnmr[k]) / 2)
    else:
        eer = float((fmr[0] + fnmr[0]) / 2)

    def at(limit: float) -> float:
        return float(fnmr[fmr <= limit + 1e-12].min())

    return ErrorRates(eer=eer, fmr100=at(0.01), fmr1000=at(0.001), fnmr_at_target=at(target_fmr),
                      genuine=len(genuine), impostor=len(impostor))


def draw_det(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str, title: str) -> None:
    """DET plot (log-log FMR vs FNMR, 0.01 % .. 100 %) as a PNG, drawn with OpenCV alone."""
    w, h, m = 640, 520, 70
    img = np.full((h, w, 3), 255, np.uint8)
    lo = -4.0  # log10 of 0.01 %

    def px(fmr: np.ndarray, fnmr: np.ndarray) -> np.ndarray:
        x = (np.log10(np.clip(fmr, 10 ** lo, 1)) - lo) / -lo
        y = (np.log10(np.clip(fnmr, 10 ** lo, 1)) - lo) / -lo
        return np.stack([m + x * (w - 2 * m), h - m - y * (h - 2 * m)], 1).astype(np.int32)

    for d in range(int(lo), 1):
        p0 = px(np.array([10.0 ** d]), np.array([10.0 ** lo]))[0]
        p1 = px(np.array([10.0 ** d]), np.array([1.0]))[0]
        cv2.line(img, tuple(p0), tuple(p1), (225, 225, 225), 1)
        q0 = px(np.array([10.0 ** lo]), np.array([10.0 ** d]))[0]
        q1 = px(np.array([1.0]), np.array([10.0 ** d]))[0]
        cv2.line(img, tuple(q0), tuple(q1), (225, 225, 225), 1)
        label = f"{100 * 10.0 ** d:g}%"
        cv2.putText(img, label, (p0[0] - 18, h - m + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        cv2.putText(img, label, (5, q0[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.rectangle(img, (m, m), (w - m, h - m), (0, 0, 0), 1)
    colours = [(200, 60, 0), (0, 0, 200), (0, 150, 0), (150, 0, 150)]
    for n, (name, (fmr, fnmr)) in enumerate(curves.items()):
        pts = px(fmr, fnmr)
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, colours[n % 4], 2)
        cv2.putText(img, name, (m + 10, m + 20 + 18 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colours[n % 4], 1)
    cv2.putText(img, title, (m, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    cv2.putText(img, "FMR", (w // 2 - 15, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "FNMR", (5, m - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.imwrite(path, img)
