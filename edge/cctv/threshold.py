"""The alarm threshold from a target false positive identification rate (FPIR) and the gallery size.

A person who is not on the list is compared with every template; the search is a false positive
when any of those comparisons reaches the threshold. With a per-comparison false match rate
FMR(t) of the decision score, and comparisons taken as independent,

    FPIR(N, t) = 1 - (1 - FMR(t)) ** N        so   FMR needed = 1 - (1 - FPIR) ** (1 / N).

``bench/cctv/walkpast.py`` fits FMR(t) on walk-past tracks of some people against the templates of
others, k-fold by person (docs/evaluation.md), and writes the curve to
``models/face/cctv_operating_points.json`` with the held-out FPIR beside it. Where the FMR needed
is below what the fit could measure (1 / impostor comparisons), the curve continues with a normal
tail fitted to the impostor scores: such a threshold is reported as *extrapolated*, because no
data here shows that it holds. Pure, except :func:`load_curve`.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

CURVE_FILE = "cctv_operating_points.json"


class CalibrationError(ValueError):
    """No usable operating curve: missing, for another embedder, or malformed."""


@dataclass(frozen=True)
class OperatingPoint:
    """The threshold at which a fraction ``fmr`` of impostor decision scores pass."""

    fmr: float
    threshold: float


@dataclass(frozen=True)
class Threshold:
    """A threshold and how it was obtained, for logs, alarms and the operator's screen."""

    value: float
    target_fpir: float | None
    gallery_size: int
    fmr: float | None
    extrapolated: bool
    source: str  # "curve", "fixed"


@dataclass(frozen=True)
class OperatingCurve:
    """FMR(t) of the decision score for one embedder and decision rule.

    ``points`` are measured (sorted by falling FMR, rising threshold); ``tail_mean`` and
    ``tail_std`` are the normal fitted to the impostor scores' upper tail, used below the
    smallest measured FMR.
    """

    model: str
    min_votes: int
    points: tuple[OperatingPoint, ...]
    tail_mean: float
    tail_std: float
    protocol: str = ""

    def threshold_for_fmr(self, fmr: float) -> tuple[float, bool]:
        """(threshold, extrapolated) for a per-comparison *fmr*."""
        if not 0 < fmr < 1:
            raise ValueError(f"FMR {fmr} is not in (0, 1)")
        points = sorted(self.points, key=lambda p: p.fmr)
        if points and fmr >= points[0].fmr:
            if fmr >= points[-1].fmr:
                return points[-1].threshold, False
            logs = [math.log10(p.fmr) for p in points]
            i = bisect_left(logs, math.log10(fmr))
            lo, hi = points[i - 1], points[i]
            w = (math.log10(fmr) - math.log10(lo.fmr)) / (math.log10(hi.fmr) - math.log10(lo.fmr))
            return lo.threshold + w * (hi.threshold - lo.threshold), False
        tail = self.tail_mean + self.tail_std * NormalDist().inv_cdf(1 - fmr)
        # Never below the strictest measured point: the tail model only continues the curve.
        return max(tail, points[0].threshold if points else tail), True

    def for_fpir(self, target_fpir: float, gallery_size: int) -> Threshold:
        fmr = required_fmr(target_fpir, gallery_size)
        value, extrapolated = self.threshold_for_fmr(fmr)
        return Threshold(value, target_fpir, gallery_size, fmr, extrapolated, "curve")


def required_fmr(target_fpir: float, gallery_size: int) -> float:
    """Per-comparison FMR that keeps a search of *gallery_size* templates at *target_fpir*."""
    if not 0 < target_fpir < 1:
        raise ValueError(f"target FPIR {target_fpir} is not in (0, 1)")
    n = max(1, gallery_size)
    # -expm1(log1p(-p) / n) is 1 - (1 - p) ** (1 / n) without cancellation for tiny rates.
    return -math.expm1(math.log1p(-target_fpir) / n)


def expected_fpir(fmr: float, gallery_size: int) -> float:
    return -math.expm1(max(1, gallery_size) * math.log1p(-fmr))


def curve_from_dict(data: dict) -> OperatingCurve:
    try:
        return OperatingCurve(
            model=str(data["model"]),
            min_votes=int(data["min_votes"]),
            points=tuple(OperatingPoint(float(f), float(t)) for f, t in data["points"]),
            tail_mean=float(data["tail"]["mean"]),
            tail_std=float(data["tail"]["std"]),
            protocol=str(data.get("protocol", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"operating curve is malformed: {exc}") from exc


def load_curve(models_dir: Path, model: str) -> OperatingCurve:
    """The curve fitted for embedder *model* (name@version); ``CalibrationError`` otherwise."""
    path = models_dir / "face" / CURVE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CalibrationError(f"no CCTV operating curve at {path} (run bench/cctv/walkpast.py)") from exc
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{path}: {exc}") from exc
    curves = data.get("curves", [data]) if isinstance(data, dict) else []
    for item in curves:
        if isinstance(item, dict) and item.get("model") == model:
            return curve_from_dict(item)
    have = [c.get("model") for c in curves if isinstance(c, dict)]
    raise CalibrationError(f"{path} has no curve for embedder {model} (it has {have}); refit with bench/cctv/walkpast.py")
