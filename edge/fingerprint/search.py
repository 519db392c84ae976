"""1:N search over a gallery: a cylinder-embedding prefilter, then full MCC on a shortlist.

Each cylinder is also projected on a few whitened principal axes (``models/fingerprint/
mcc_projection.npz``, fitted on synthetic fingers by ``models/fingerprint/train_projection.py``)
and normalised, so two cylinders compare by one short dot product. A gallery entry keeps at most
``PER_ENTRY`` of them (the minutiae nearest its centre: the ones most likely inside a probe's
contact area), zero-padded. The prefilter scores every entry at once: one matrix product of the
probe's embeddings with the whole gallery's, the best cylinder of each entry for each probe
cylinder, and the mean of the ``TOP`` best of those, as MCC's local similarity sort does. Cylinders
are invariant to where and how the finger was placed, so the prefilter is too. Only the
``shortlist`` best entries are scored by the full MCC matcher, whose score is the decision.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..modelstore import find_manifest, verified_path
from . import mcc
from .template import Template

PROJECTION_MODEL = "fingerprint-mcc-projection"
PER_ENTRY = 32  # cylinders kept per gallery entry and per probe (FVC templates have 20-30)
TOP = 8  # probe cylinders whose best gallery match make the prefilter score
CHUNK = 4096  # gallery entries per block of the prefilter product


@dataclass(frozen=True, eq=False)
class Projection:
    mean: np.ndarray  # (D,) float32
    components: np.ndarray  # (D, d) float32, whitened

    @classmethod
    def load(cls, models_dir: Path | None = None) -> Projection:
        return _load(None if models_dir is None else str(models_dir))

    @property
    def dims(self) -> int:
        return self.components.shape[1]

    def embed(self, cyl: mcc.Cylinders, limit: int = PER_ENTRY) -> np.ndarray:
        """(limit, d) unit rows for the (at most *limit*) cylinders nearest the centre; zero rows pad."""
        out = np.zeros((limit, self.dims), np.float32)
        if len(cyl) == 0:
            return out
        keep = np.arange(len(cyl))
        if len(cyl) > limit:
            centre = cyl.xy.mean(0)
            keep = np.sort(np.argsort(((cyl.xy - centre) ** 2).sum(1), kind="stable")[:limit])
        e = (cyl.values[keep] - self.mean) @ self.components
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)
        out[: len(keep)] = e
        return out


@lru_cache(maxsize=4)
def _load(models_dir: str | None) -> Projection:
    # checksum-verified like any model file: a swapped projection would quietly blind the search
    path = verified_path(find_manifest(PROJECTION_MODEL, None if models_dir is None else Path(models_dir)))
    with np.load(io.BytesIO(path.read_bytes())) as data:
        return Projection(mean=data["mean"].astype(np.float32), components=data["components"].astype(np.float32))


def pack(rows: list[np.ndarray], chunk: int = CHUNK) -> list[np.ndarray]:
    """Gallery embeddings (each (PER_ENTRY, d)) as blocks of *chunk* entries, each (d, PER_ENTRY *
    entries) with the slot first: the best slot per entry is then an elementwise maximum over
    contiguous rows, and a block's products stay in cache."""
    out = []
    for lo in range(0, len(rows), chunk):
        block = np.stack(rows[lo: lo + chunk])  # (n, PER_ENTRY, d)
        out.append(np.ascontiguousarray(block.transpose(2, 1, 0)).reshape(block.shape[2], -1))
    return out


def prefilter_scores(probe: np.ndarray, blocks: list[np.ndarray], top: int = TOP) -> np.ndarray:
    """Scores of one embedded probe (k, d) against a gallery packed by ``pack``."""
    real = probe[np.any(probe != 0, axis=1)]
    sizes = [b.shape[1] // PER_ENTRY for b in blocks]
    if len(real) == 0 or not blocks:
        return np.zeros(sum(sizes), np.float32)
    q = min(top, len(real))
    out = []
    for block, n in zip(blocks, sizes, strict=True):
        best = (real @ block).reshape(len(real), PER_ENTRY, n).max(axis=1)  # (k, n)
        if q < len(real):
            best = np.partition(best, len(real) - q, axis=0)[len(real) - q:]
        out.append(best.mean(axis=0))
    return np.concatenate(out)


@dataclass
class Gallery:
    """Enrolled templates by id, with their cylinders and prefilter embeddings precomputed."""

    params: mcc.MccParams = mcc.DEFAULT
    projection: Projection | None = None  # the shipped one (models/) when not given
    ids: list[str] = field(default_factory=list)
    _cyl: list[mcc.Cylinders] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)
    _blocks: list[np.ndarray] | None = None

    def _projection(self) -> Projection:
        if self.projection is None:
            self.projection = Projection.load()
        return self.projection

    def add(self, identity: str, template: Template) -> None:
        self.add_cylinders(identity, mcc.cylinders(template, self.params))

    def add_cylinders(self, identity: str, cyl: mcc.Cylinders) -> None:
        """Enrol descriptors already computed (with this gallery's parameters)."""
        self.ids.append(identity)
        self._cyl.append(cyl)
        self._rows.append(self._projection().embed(cyl))
        self._blocks = None

    def remove(self, identity: str) -> None:
        """Forget every entry enrolled under *identity* (no error if there is none)."""
        keep = [i for i, x in enumerate(self.ids) if x != identity]
        if len(keep) == len(self.ids):
            return
        self.ids = [self.ids[i] for i in keep]
        self._cyl = [self._cyl[i] for i in keep]
        self._rows = [self._rows[i] for i in keep]
        self._blocks = None

    def __len__(self) -> int:
        return len(self.ids)

    def entries(self) -> list[tuple[str, mcc.Cylinders]]:
        """(id, cylinders) of every entry, in gallery order."""
        return list(zip(self.ids, self._cyl, strict=True))

    def prefilter(self, probe: Template) -> np.ndarray:
        """Prefilter similarity of the probe with every gallery entry, in gallery order."""
        return self.prefilter_cylinders(mcc.cylinders(probe, self.params))

    def prefilter_cylinders(self, cp: mcc.Cylinders) -> np.ndarray:
        if self._blocks is None:
            self._blocks = pack(self._rows)
        return prefilter_scores(self._projection().embed(cp), self._blocks)

    def search(self, probe: Template, *, shortlist: int = 50, top: int = 5) -> list[tuple[str, float]]:
        """(id, MCC score) of the *top* best candidates, best first."""
        return self.search_cylinders(mcc.cylinders(probe, self.params), shortlist=shortlist, top=top)

    def search_cylinders(self, cp: mcc.Cylinders, *, shortlist: int = 50, top: int = 5) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        coarse = self.prefilter_cylinders(cp)
        k = min(shortlist, len(coarse))
        candidates = np.argpartition(-coarse, k - 1)[:k]
        scored = [(self.ids[i], mcc.score_cylinders(cp, self._cyl[i], self.params)) for i in candidates]
        scored.sort(key=lambda r: -r[1])
        return scored[:top]
