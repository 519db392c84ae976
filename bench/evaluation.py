"""The evaluation protocol every recognition bench follows (docs/evaluation.md).

Anything fitted (a threshold, a model choice, fusion weights, matcher parameters, a projection) is
fitted on some subjects and reported on others: k folds by subject (a person for faces, a finger
for fingerprints, a document for the MRZ reader), each fold held out once. A figure reported from
here is always a held-out figure, with the count behind it, its 95 % Clopper-Pearson interval and
the spread across folds.

Pure numpy and the standard library: no I/O, nothing about faces or fingers. A bench supplies the
scores; this module says which of them a fit may see.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

Subject = Hashable


# -- folds -------------------------------------------------------------------------------------

def subject_folds(subjects: Sequence[Subject], k: int, seed: int = 0) -> list[frozenset[Subject]]:
    """Split the distinct subjects into *k* folds of near-equal size, shuffled by *seed*.

    Sorting before shuffling makes the split depend only on the set of subjects and the seed, not
    on the order the bench found them in.
    """
    distinct = sorted(set(subjects), key=repr)
    if k < 2:
        raise ValueError("k-fold evaluation needs at least 2 folds")
    if len(distinct) < k:
        raise ValueError(f"{len(distinct)} subjects cannot fill {k} folds")
    random.Random(seed).shuffle(distinct)
    return [frozenset(distinct[i::k]) for i in range(k)]


@dataclass(frozen=True)
class Pairs:
    """Comparison scores with the two subjects behind each (higher score = more alike)."""

    scores: np.ndarray  # float, shape (n,)
    left: np.ndarray  # subject index of each pair's first sample, shape (n,)
    right: np.ndarray  # subject index of each pair's second sample, shape (n,)
    subjects: tuple[Subject, ...]  # index -> subject

    @classmethod
    def from_lists(cls, scores: Sequence[float], left: Sequence[Subject], right: Sequence[Subject]) -> Pairs:
        if not (len(scores) == len(left) == len(right)):
            raise ValueError("scores, left and right differ in length")
        names = tuple(sorted(set(left) | set(right), key=repr))
        index = {s: i for i, s in enumerate(names)}
        return cls(np.asarray(scores, dtype=np.float64),
                   np.fromiter((index[s] for s in left), dtype=np.int64, count=len(left)),
                   np.fromiter((index[s] for s in right), dtype=np.int64, count=len(right)),
                   names)

    @property
    def genuine(self) -> np.ndarray:
        return self.left == self.right

    def within(self, group: frozenset[Subject]) -> Pairs:
        """The pairs whose two subjects both belong to *group* (a pair across groups is in neither)."""
        member = np.fromiter((s in group for s in self.subjects), dtype=bool, count=len(self.subjects))
        keep = member[self.left] & member[self.right]
        return Pairs(self.scores[keep], self.left[keep], self.right[keep], self.subjects)

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(genuine scores, impostor scores)."""
        g = self.genuine
        return self.scores[g], self.scores[~g]


# -- rates and their uncertainty ------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the CDF of Beta(a, b) at *x*."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _beta_quantile(a: float, b: float, p: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(200):  # bisection: 2^-200 is far below any rate we report
        mid = (lo + hi) / 2
        if regularized_beta(a, b, mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson(errors: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval for *errors* in *trials*."""
    if trials <= 0:
        return (0.0, 1.0)
    if not 0 <= errors <= trials:
        raise ValueError("errors must lie between 0 and trials")
    alpha = 1.0 - confidence
    lower = 0.0 if errors == 0 else _beta_quantile(errors, trials - errors + 1, alpha / 2)
    upper = 1.0 if errors == trials else _beta_quantile(errors + 1, trials - errors, 1 - alpha / 2)
    return (lower, upper)


@dataclass(frozen=True)
class Rate:
    """A count of errors out of a count of trials, with its 95 % interval."""

    errors: int
    trials: int

    @property
    def value(self) -> float:
        return self.errors / self.trials if self.trials else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return clopper_pearson(self.errors, self.trials)

    @property
    def resolution(self) -> float:
        """The smallest non-zero rate these trials can show."""
        return 1.0 / self.trials if self.trials else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        lo, hi = self.interval
        return {"errors": self.errors, "trials": self.trials, "rate": self.value,
                "ci95_low": lo, "ci95_high": hi, "resolution": self.resolution}

    def __str__(self) -> str:
        lo, hi = self.interval
        return f"{100 * self.value:.3f} % ({self.errors}/{self.trials}; 95 % CI {100 * lo:.3f}-{100 * hi:.3f} %)"


def threshold_for_fmr(impostor: np.ndarray, target_fmr: float) -> float:
    """The lowest threshold at which at most *target_fmr* of *impostor* scores are accepted.

    A pair is accepted when its score is >= the threshold. With n impostors, a target below 1/n
    can only be met by accepting none, so the threshold goes just above the highest impostor.
    """
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    if imp.size == 0:
        raise ValueError("no impostor scores to fit a threshold on")
    allowed = int(math.floor(target_fmr * imp.size + 1e-9))
    # accept exactly the `allowed` highest impostors: the threshold sits just above the next one
    pivot = imp[imp.size - allowed - 1]
    return float(np.nextafter(pivot, np.inf))


def threshold_for_fmr_bound(impostor: np.ndarray, target_fmr: float, confidence: float = 0.95) -> float:
    """The lowest threshold at which the upper end of the FMR's Clopper-Pearson interval on
    *impostor* is at most *target_fmr*.

    ``threshold_for_fmr`` aims at the target itself, so about half of the held-out folds land
    above it; this fit leaves the margin the sample's own uncertainty calls for, so that a
    threshold shipped for FMR 0.05 % holds on people it did not see.
    """
    imp = np.asarray(impostor, dtype=np.float64)
    n = imp.size
    if n == 0:
        raise ValueError("no impostor scores to fit a threshold on")
    allowed = _allowed_within_bound(n, target_fmr, confidence)
    # the (allowed + 1)-th highest impostor is refused: the threshold sits just above it
    pivot = np.partition(imp, n - allowed - 1)[n - allowed - 1]
    return float(np.nextafter(pivot, np.inf))


@functools.lru_cache(maxsize=4096)
def _allowed_within_bound(n: int, target_fmr: float, confidence: float) -> int:
    """The most errors in *n* trials whose interval's upper end is at most *target_fmr*
    (0 when even none is too many to show the target)."""
    lo, hi = 0, n  # `lo` passes, `hi` fails
    if clopper_pearson(0, n, confidence)[1] > target_fmr:
        return 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if clopper_pearson(mid, n, confidence)[1] <= target_fmr:
            lo = mid
        else:
            hi = mid
    return lo


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, FMR, FNMR) at every distinct score; a pair is accepted when score >= threshold."""
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    thr = np.unique(np.concatenate([g, i, [np.inf]]))
    fmr = 1.0 - np.searchsorted(i, thr, side="left") / len(i)
    fnmr = np.searchsorted(g, thr, side="left") / len(g)
    return thr, fmr, fnmr


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Where FMR and FNMR cross, interpolated between the two thresholds that bracket it."""
    _, fmr, fnmr = det_curve(genuine, impostor)
    k = int(np.argmax(fnmr >= fmr))
    if k == 0:
        return float((fmr[0] + fnmr[0]) / 2)
    x0, x1 = fmr[k - 1] - fnmr[k - 1], fmr[k] - fnmr[k]
    w = x0 / (x0 - x1) if x0 != x1 else 0.5
    return float((1 - w) * (fmr[k - 1] + fnmr[k - 1]) / 2 + w * (fmr[k] + fnmr[k]) / 2)


def rates_at(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[Rate, Rate]:
    """(FMR, FNMR) as counts at *threshold*."""
    fm = int(np.count_nonzero(np.asarray(impostor) >= threshold))
    fnm = int(np.count_nonzero(np.asarray(genuine) < threshold))
    return Rate(fm, int(np.size(impostor))), Rate(fnm, int(np.size(genuine)))


# -- k-fold by subject ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FoldResult:
    fold: int
    threshold: float
    fmr: Rate
    fnmr: Rate
    eer: float  # on the held-out fold's own pairs; a ranking figure, no threshold is fitted

    def as_dict(self) -> dict[str, object]:
        return {"fold": self.fold, "threshold": self.threshold, "fmr": self.fmr.as_dict(),
                "fnmr": self.fnmr.as_dict(), "eer": self.eer}


@dataclass(frozen=True)
class HeldOut:
    """Held-out figures at a target FMR: pooled over the folds, with each fold beside them."""

    target_fmr: float
    folds: tuple[FoldResult, ...]
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def fmr(self) -> Rate:
        return Rate(sum(f.fmr.errors for f in self.folds), sum(f.fmr.trials for f in self.folds))

    @property
    def fnmr(self) -> Rate:
        return Rate(sum(f.fnmr.errors for f in self.folds), sum(f.fnmr.trials for f in self.folds))

    @property
    def eer(self) -> float:
        return float(np.mean([f.eer for f in self.folds]))

    def spread(self, what: str) -> dict[str, float]:
        values = [getattr(f, what).value if what in ("fmr", "fnmr") else getattr(f, what) for f in self.folds]
        return {"min": float(np.min(values)), "max": float(np.max(values)), "std": float(np.std(values))}

    def as_dict(self) -> dict[str, object]:
        return {
            "protocol": f"{len(self.folds)}-fold by subject; threshold fitted on the other folds",
            "target_fmr": self.target_fmr,
            "fmr": self.fmr.as_dict(), "fnmr": self.fnmr.as_dict(), "eer_mean": self.eer,
            "spread": {k: self.spread(k) for k in ("fmr", "fnmr", "eer")},
            "folds": [f.as_dict() for f in self.folds],
            **self.notes,
        }


ThresholdFit = Callable[[np.ndarray, np.ndarray], float]


def fmr_threshold_fit(target_fmr: float) -> ThresholdFit:
    """The default fit: the empirical threshold for *target_fmr* on the training impostors."""
    def fit(_genuine: np.ndarray, impostor: np.ndarray) -> float:
        return threshold_for_fmr(impostor, target_fmr)
    return fit


def fmr_bound_fit(target_fmr: float, confidence: float = 0.95) -> ThresholdFit:
    """A fit whose training FMR's upper confidence bound is at most *target_fmr*
    (``threshold_for_fmr_bound``): the fit to use for a threshold that will be shipped."""
    def fit(_genuine: np.ndarray, impostor: np.ndarray) -> float:
        return threshold_for_fmr_bound(impostor, target_fmr, confidence)
    return fit


def cross_validate(pairs: Pairs, k: int, target_fmr: float, *, seed: int = 0,
                   fit: ThresholdFit | None = None) -> HeldOut:
    """Fit a threshold on k-1 folds of subjects, apply it to the pairs of the fold left out.

    Genuine pairs belong to their subject's fold; an impostor pair belongs to a fold only when both
    of its subjects do (pairs across folds are used by no fit and no report).
    """
    fit = fit or fmr_threshold_fit(target_fmr)
    folds = subject_folds(pairs.subjects, k, seed)
    results = []
    for n, held in enumerate(folds):
        train = frozenset().union(*(f for m, f in enumerate(folds) if m != n))
        g_fit, i_fit = pairs.within(train).split()
        g_test, i_test = pairs.within(held).split()
        threshold = fit(g_fit, i_fit)
        fmr, fnmr = rates_at(g_test, i_test, threshold)
        eer = equal_error_rate(g_test, i_test) if g_test.size and i_test.size else float("nan")
        results.append(FoldResult(n, threshold, fmr, fnmr, eer))
    return HeldOut(target_fmr, tuple(results))


def summary_line(name: str, held: HeldOut) -> str:
    """One human line for a RESULTS table or a bench's stdout."""
    s = held.spread("fnmr")
    return (f"{name}: held-out FMR {held.fmr} at target {100 * held.target_fmr:g} %; "
            f"FNMR {held.fnmr} (folds {100 * s['min']:.2f}-{100 * s['max']:.2f} %); "
            f"EER {100 * held.eer:.2f} % ({len(held.folds)}-fold by subject)")


__all__ = [
    "FoldResult", "HeldOut", "Pairs", "Rate", "clopper_pearson", "cross_validate",
    "det_curve", "equal_error_rate", "fmr_bound_fit", "fmr_threshold_fit", "rates_at",
    "regularized_beta", "subject_folds", "summary_line", "threshold_for_fmr", "threshold_for_fmr_bound",
]
