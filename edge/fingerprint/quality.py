"""Capture quality: a 0..100 score and, for a capture the gate must refuse, a stable reason.

The reasons are the codes the panel turns into "press again" prompts (tekan ulang):
``no_finger``, ``small_area``, ``low_contrast``, ``unclear_ridges``, ``few_minutiae``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ridges import RidgeField


@dataclass(frozen=True)
class QualityPolicy:
    """Refusal limits at 500 ppi. Areas are in square millimetres of finger in contact."""

    min_area_mm2: float = 60.0
    min_contrast: float = 12.0  # grey-level standard deviation inside the finger
    min_coherence: float = 0.35  # mean ridge-flow coherence inside the finger
    min_minutiae: int = 12


@dataclass(frozen=True)
class QualityReport:
    score: int
    area_mm2: float
    contrast: float
    coherence: float
    minutiae: int
    reason: str | None  # None when the capture is usable
    detail: str = ""

    @property
    def is_acceptable(self) -> bool:
        return self.reason is None


def assess(img: np.ndarray, field: RidgeField, n_minutiae: int, ppi: int = 500,
           policy: QualityPolicy | None = None) -> QualityReport:
    policy = policy or QualityPolicy()
    px_per_mm = ppi / 25.4
    area_mm2 = float(field.mask.sum()) / (px_per_mm * px_per_mm)
    if field.mask.any():
        contrast = float(img[field.mask].std())
        coherence = float(field.coherence[field.mask].mean())
    else:
        contrast = coherence = 0.0
    # each factor saturates at about twice its refusal limit
    parts = [
        min(1.0, area_mm2 / (2.5 * policy.min_area_mm2)),
        min(1.0, contrast / (2.5 * policy.min_contrast)),
        min(1.0, coherence / 0.7),
        min(1.0, n_minutiae / (2.5 * policy.min_minutiae)),
    ]
    score = round(100 * float(np.prod(parts)) ** 0.5)
    reason = detail = None
    if area_mm2 < 0.25 * policy.min_area_mm2 or contrast < 0.5 * policy.min_contrast:
        reason, detail = "no_finger", f"finger area {area_mm2:.0f} mm2, contrast {contrast:.1f}"
    elif area_mm2 < policy.min_area_mm2:
        reason, detail = "small_area", f"finger area {area_mm2:.0f} mm2 < {policy.min_area_mm2:.0f}"
    elif contrast < policy.min_contrast:
        reason, detail = "low_contrast", f"contrast {contrast:.1f} < {policy.min_contrast:.1f}"
    elif coherence < policy.min_coherence:
        reason, detail = "unclear_ridges", f"ridge coherence {coherence:.2f} < {policy.min_coherence:.2f}"
    elif n_minutiae < policy.min_minutiae:
        reason, detail = "few_minutiae", f"{n_minutiae} minutiae < {policy.min_minutiae}"
    return QualityReport(score=score, area_mm2=area_mm2, contrast=contrast, coherence=coherence,
                         minutiae=n_minutiae, reason=reason, detail=detail or "")
