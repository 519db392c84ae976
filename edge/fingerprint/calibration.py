"""Score calibration: the decision threshold that gives a target false match rate (FMR).

A calibration is the upper tail of an impostor score distribution, stored as (threshold, FMR)
points in ``models/fingerprint/mcc_calibration.json`` by ``models/fingerprint/train_calibration.py``.
Down to the FMR the impostor set resolves (3 expected false matches) the threshold is read off
the observed scores. Below that, only a calibration that carries a fitted tail model (an
exponential law over its highest scores, the peaks-over-threshold method) answers, at most
``max_extrapolation`` times below that resolution and never below the highest impostor it saw;
anything further is an error, not a guess.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .errors import CalibrationError

DEFAULT_TARGET_FMR = 0.0005  # 0.05 %


class TailFile(BaseModel):
    """The fitted exponential tail: FMR(t) = exceed_fraction * exp(-(t - start) / scale)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: float
    exceed_fraction: float = Field(gt=0, le=1)
    scale: float = Field(gt=0)
    exceedances: int = Field(gt=0)
    max_extrapolation: float = Field(ge=1)


class CalibrationFile(BaseModel):
    """On-disk form of a calibration (pydantic: it crosses a file boundary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matcher: str
    impostor_pairs: int = Field(gt=0)
    source: str
    thresholds: list[float]
    fmr: list[float]
    tail: TailFile | None = None
    measured: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class TailModel:
    """Exponential law over the impostor scores above *start* (peaks over threshold).

    Above a high quantile, the excess of impostor scores over it is close to exponential for
    most matchers (the generalised Pareto law with shape 0). The exponential is the cautious
    choice for a bounded score: its tail is heavier than the bounded (negative shape) fits, so
    the threshold it gives errs high.
    """

    start: float
    exceed_fraction: float
    scale: float  # mean excess over start: the maximum-likelihood estimate
    exceedances: int
    max_extrapolation: float = 10.0

    @classmethod
    def fit(cls, sorted_scores: np.ndarray, fraction: float, max_extrapolation: float = 10.0) -> TailModel:
        n = len(sorted_scores)
        start = float(np.quantile(sorted_scores, 1.0 - fraction))
        excess = sorted_scores[sorted_scores > start] - start
        if len(excess) < 10 or float(excess.mean()) <= 0:
            raise CalibrationError(f"{len(excess)} impostor scores above the tail start: too few to fit")
        return cls(start=start, exceed_fraction=len(excess) / n, scale=float(excess.mean()),
                   exceedances=len(excess), max_extrapolation=max_extrapolation)

    def fmr(self, threshold: float, scale: float | None = None) -> float:
        if threshold <= self.start:
            return self.exceed_fraction
        return self.exceed_fraction * math.exp(-(threshold - self.start) / (scale or self.scale))

    def threshold(self, target_fmr: float) -> float:
        return self.start + self.scale * math.log(self.exceed_fraction / min(target_fmr, self.exceed_fraction))

    def scale_upper(self, confidence: float = 0.95) -> float:
        """One-sided upper confidence bound on the scale: 2 k scale_hat / scale is chi-square(2k)."""
        k = self.exceedances
        # Wilson-Hilferty: the chi-square quantile without scipy (relative error < 1e-3 at k >= 10)
        z = _normal_quantile(1.0 - confidence)
        chi2_low = 2 * k * (1 - 1 / (9 * k) + z * math.sqrt(1 / (9 * k))) ** 3
        return 2 * k * self.scale / chi2_low


def _normal_quantile(p: float) -> float:
    """Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2,
         -3.066479806614716e1, 2.506628277459239)
    b = (-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
         -1.328068155288572e1)
    c = (-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)
    d = (7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416)
    if p < 0.02425:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - 0.02425:
        return -_normal_quantile(1 - p)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


def fmr_upper_bound(false_matches: int, pairs: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on an FMR seen as *false_matches* of *pairs*.

    With none seen it is 1 - (1 - confidence)^(1/pairs), about 3 / pairs at 95 % (the rule of
    three): 6,000 clean impostor pairs are needed before 0.05 % is shown at 95 % confidence.
    """
    if pairs <= 0:
        raise CalibrationError("no pairs")
    if false_matches >= pairs:
        return 1.0
    alpha = 1.0 - confidence
    lo, hi = false_matches / pairs, 1.0
    for _ in range(60):  # bisection on the binomial CDF: P(X <= k | p) = alpha
        mid = (lo + hi) / 2
        if _binom_cdf(false_matches, pairs, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0 if k < n else 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


@dataclass(frozen=True)
class Calibration:
    matcher: str
    impostor_pairs: int
    thresholds: np.ndarray  # increasing
    fmr: np.ndarray  # decreasing, FMR when accepting scores >= threshold
    tail: TailModel | None = None

    @classmethod
    def from_impostor_scores(cls, scores: np.ndarray, matcher: str = "mcc-lssr", *,
                             tail_fraction: float | None = None,
                             max_extrapolation: float = 10.0) -> Calibration:
        """Empirical FMR curve of *scores*; with *tail_fraction*, also an exponential law fitted
        to that top fraction of them, for targets below what the set resolves."""
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
        tail = None if tail_fraction is None else TailModel.fit(s, tail_fraction, max_extrapolation)
        return cls(matcher=matcher, impostor_pairs=n, thresholds=thresholds, fmr=fmr, tail=tail)

    @property
    def min_resolvable_fmr(self) -> float:
        return 3.0 / self.impostor_pairs

    @property
    def min_fmr(self) -> float:
        """Lowest target FMR this calibration answers (with its tail model, if it has one)."""
        if self.tail is None:
            return self.min_resolvable_fmr
        return self.min_resolvable_fmr / self.tail.max_extrapolation

    def threshold_for(self, target_fmr: float = DEFAULT_TARGET_FMR) -> float:
        """Lowest threshold whose FMR on the calibration set is at most *target_fmr*.

        Below the resolution of the set, the tail model's threshold, raised to just above the
        highest impostor seen if it falls below it (one seen false match is already too many)."""
        if not 0 < target_fmr < 1:
            raise CalibrationError(f"target FMR {target_fmr} is not in (0, 1)")
        if target_fmr < self.min_fmr:
            how = "" if self.tail is None else f" with a tail model trusted {self.tail.max_extrapolation:g}x below that"
            raise CalibrationError(
                f"target FMR {target_fmr:g} is below what {self.impostor_pairs} impostor pairs "
                f"resolve ({self.min_resolvable_fmr:g}){how}; calibrate on more pairs"
            )
        ok = np.nonzero(self.fmr <= target_fmr)[0]
        # no point that low: just above the highest impostor score is as far as counting goes
        observed = float(self.thresholds[ok[0]] if len(ok) else self.thresholds[-1])
        if target_fmr >= self.min_resolvable_fmr or self.tail is None:
            return observed
        return max(observed, self.tail.threshold(target_fmr))

    def fmr_at(self, threshold: float) -> float:
        """FMR when accepting scores >= *threshold*: observed, or the tail model's past the
        highest impostor score of the set."""
        if self.tail is not None and threshold >= self.thresholds[-1]:
            return self.tail.fmr(threshold)  # the last point is just past the highest impostor
        i = int(np.searchsorted(self.thresholds, threshold, side="left"))
        return float(self.fmr[min(i, len(self.fmr) - 1)])

    def to_file(self, source: str, measured: dict[str, float] | None = None, points: int = 60) -> CalibrationFile:
        """The tail (FMR 5 % and below) sampled at *points* log-spaced FMRs, exact at each."""
        # log-spaced, plus the targets the gate and the reports use, so those stay exact
        grid = np.concatenate([np.geomspace(0.05, float(self.fmr.min()), points), [0.01, 0.001, 0.0005, 0.0001]])
        idx = sorted({int(np.nonzero(self.fmr <= g)[0][0]) for g in grid if (self.fmr <= g).any()})
        tail = None if self.tail is None else TailFile(
            start=self.tail.start, exceed_fraction=self.tail.exceed_fraction, scale=self.tail.scale,
            exceedances=self.tail.exceedances, max_extrapolation=self.tail.max_extrapolation)
        return CalibrationFile(matcher=self.matcher, impostor_pairs=self.impostor_pairs, source=source,
                               thresholds=[float(self.thresholds[i]) for i in idx],
                               fmr=[float(self.fmr[i]) for i in idx], tail=tail, measured=measured or {})

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = CalibrationFile.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        if len(data.thresholds) != len(data.fmr) or not data.thresholds:
            raise CalibrationError(f"calibration {path}: thresholds and FMR lists disagree")
        tail = None if data.tail is None else TailModel(**data.tail.model_dump())
        return cls(matcher=data.matcher, impostor_pairs=data.impostor_pairs,
                   thresholds=np.asarray(data.thresholds), fmr=np.asarray(data.fmr), tail=tail)
