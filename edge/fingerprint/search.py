"""1:N search over a gallery: a matrix-product prefilter, then MCC on the shortlist.

Each template is also summarised by one fixed-length vector: the L2-normalised, square-rooted
sum of its cylinders. Cylinders are invariant to where and how the finger was placed, so the
summary is too; comparing a probe with the whole gallery is then one matrix-vector product
(hundreds of thousands of comparisons per second on one core). Only the ``shortlist`` best
candidates are scored by the full MCC matcher, whose score is the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import mcc
from .template import Template


def summary_vector(cyl: mcc.Cylinders) -> np.ndarray:
    """Placement-invariant fixed-length summary of a template (unit norm, float32)."""
    if len(cyl) == 0:
        return np.zeros(cyl.values.shape[1], np.float32)
    v = np.sqrt(cyl.values.sum(0))  # the square root damps cells every finger has
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)


@dataclass
class Gallery:
    """Enrolled templates by id, with their cylinders and summaries precomputed."""

    params: mcc.MccParams = mcc.DEFAULT
    ids: list[str] = field(default_factory=list)
    _cyl: list[mcc.Cylinders] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)
    _matrix: np.ndarray | None = None

    def add(self, identity: str, template: Template) -> None:
        cyl = mcc.cylinders(template, self.params)
        self.ids.append(identity)
        self._cyl.append(cyl)
        self._rows.append(summary_vector(cyl))
        self._matrix = None

    def __len__(self) -> int:
        return len(self.ids)

    def prefilter(self, probe: Template) -> np.ndarray:
        """Summary similarity of the probe with every gallery entry (one matrix product)."""
        if self._matrix is None:
            self._matrix = np.stack(self._rows) if self._rows else np.zeros((0, 1), np.float32)
        return self._matrix @ summary_vector(mcc.cylinders(probe, self.params))

    def search(self, probe: Template, *, shortlist: int = 50, top: int = 5) -> list[tuple[str, float]]:
        """(id, MCC score) of the *top* best candidates, best first."""
        if not self.ids:
            return []
        coarse = self.prefilter(probe)
        k = min(shortlist, len(coarse))
        candidates = np.argpartition(-coarse, k - 1)[:k]
        cp = mcc.cylinders(probe, self.params)
        scored = [(self.ids[i], mcc.score_cylinders(cp, self._cyl[i], self.params)) for i in candidates]
        scored.sort(key=lambda r: -r[1])
        return scored[:top]
