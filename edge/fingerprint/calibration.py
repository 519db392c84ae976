"""Score calibration: the decision threshold that gives a target false match rate (FMR).

A calibration is the upper tail of an impostor score distribution, stored as (threshold, FMR)
points in ``models/fingerprint/mcc_calibration.json`` by ``models/fingerprint/train_calibration.py``.
The threshold for a target FMR is interpolated on log(FMR); asking for an FMR below what the
impostor set can resolve (fewer than 3 expected false matches) is an error, not a guess.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import CalibrationError

DEFAULT_TARGET_FMR = 0.0005  # 0.05 %


class CalibrationFile(BaseModel):
    """On-disk form of a calibration (pydantic: it crosses a file boundary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matcher: str
    impostor_pairs: int = Field(gt=0)
    source: str
    thresholds: list[float]
    fmr: list[float]
    measured: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class Calibration:
    matcher: str
    impostor_pairs: int
    thresholds: np.ndarray  # increasing
    fmr: np.ndarray  # decreasing, FMR when accepting scores >= threshold

    @classmethod
    def from_impostor_scores(cls, scores: np.ndarray, matcher: str = "mcc-lssr") -> Calibration:
        s = np.sort(np.asarray(scores, dtype=np.float64))
        n = len(s)
        if n == 0:
            raise CalibrationError("calibration needs impostor scores")
        # evaluate the FMR just above each distinct score of the upper tail
        uniq = np.unique(s[int(0.5 * n):])
        fmr = (n - np.searchsorted(s, uniq, side="left")) / n
        # one more point just past the maximum: the threshold with no observed false match
        thresholds = np.append(uniq, uniq[-1] + 1e-6)
        fmr = np.append(fmr, 0.5 / n)
        return cls(matcher=matcher, impostor_pairs=n, thresholds=thresholds, fmr=fmr)

    @property
    def min_resolvable_fmr(self) -> float:
        return 3.0 / self.impostor_pairs

    def threshold_for(self, target_fmr: float = DEFAULT_TARGET_FMR) -> float:
        """Lowest threshold whose FMR on the calibration set is at most *target_fmr*."""
        if not 0 < target_fmr < 1:
            raise CalibrationError(f"target FMR {target_fmr} is not in (0, 1)")
        if target_fmr < self.min_resolvable_fmr:
            raise CalibrationError(
                f"target FMR {target_fmr:g} is below what {self.impostor_pairs} impostor pairs "
                f"resolve ({self.min_resolvable_fmr:g}); calibrate on more pairs"
            )
        ok = np.nonzero(self.fmr <= target_fmr)[0]
        return float(self.thresholds[ok[0]])

    def fmr_at(self, threshold: float) -> float:
        i = int(np.searchsorted(self.thresholds, threshold, side="left"))
        return float(self.fmr[min(i, len(self.fmr) - 1)])

    def to_file(self, source: str, measured: dict[str, float] | None = None, points: int = 60) -> CalibrationFile:
        """The tail (FMR 5 % and below) sampled at *points* log-spaced FMRs, exact at each."""
        # log-spaced, plus the targets the gate and the reports use, so those stay exact
        grid = np.concatenate([np.geomspace(0.05, float(self.fmr.min()), points), [0.01, 0.001, 0.0005, 0.0001]])
        idx = sorted({int(np.nonzero(self.fmr <= g)[0][0]) for g in grid if (self.fmr <= g).any()})
        return CalibrationFile(matcher=self.matcher, impostor_pairs=self.impostor_pairs, source=source,
                               thresholds=[float(self.thresholds[i]) for i in idx],
                               fmr=[float(self.fmr[i]) for i in idx], measured=measured or {})

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = CalibrationFile.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        if len(data.thresholds) != len(data.fmr) or not data.thresholds:
            raise CalibrationError(f"calibration {path}: thresholds and FMR lists disagree")
        return cls(matcher=data.matcher, impostor_pairs=data.impostor_pairs,
                   thresholds=np.asarray(data.thresholds), fmr=np.asarray(data.fmr))
