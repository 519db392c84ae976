"""1:N search over a gallery of unit embeddings (pure numpy), for the CCTV watchlist.

Brute force is exact and cheap here: 10,000 x 128 float32 is 5 MB and one probe costs about
0.1 ms; 1,000,000 entries cost about 33 ms a probe on one core (research/peers-measured.md), and
the 192-d MobileFaceNet embeddings cost about 1.5 times that. Above ``index_above`` entries an
optional coarse index (k-means cells, searched ``probe_cells`` at a time, then exact re-ranking)
trims the cost; it is approximate, so results can miss.

A gallery holds the embeddings of one embedder model and version (``model``, see
``types.model_tag``): scores across models mean nothing, so adding or searching with another
model's template raises ``ModelMismatch`` instead of returning a plausible-looking hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embedder import l2_normalise
from .errors import ModelMismatch
from .types import FaceTemplate, model_tag


@dataclass(frozen=True)
class Hit:
    """One search result: the gallery ``key`` and its cosine ``score``."""

    key: str
    score: float


class Gallery:
    """Keys with unit embeddings; ``search(vec, k)`` returns the top-k by cosine similarity."""

    def __init__(self, dimension: int = 128, *, model: str | None = None, index_above: int = 200_000,
                 cells: int = 1024, probe_cells: int = 32, seed: int = 0) -> None:
        self.dimension = dimension
        self.model = model
        self.index_above = index_above
        self.cells = cells
        self.probe_cells = probe_cells
        self._seed = seed
        self._keys: list[str] = []
        self._chunks: list[np.ndarray] = []
        self._matrix = np.zeros((0, dimension), np.float32)
        self._centroids: np.ndarray | None = None
        self._assign: np.ndarray | None = None

    @classmethod
    def for_engine(cls, engine, **options) -> Gallery:
        """An empty gallery for the templates *engine* (a ``FaceEngine``) produces."""
        return cls(engine.dimension, model=model_tag(engine.embedder_name, engine.embedder_version),
                   **options)

    def _check_model(self, model: str | None) -> None:
        """Refuse *model* unless it is the gallery's (an empty untagged gallery takes any)."""
        if model is None or model == self.model or (self.model is None and not self._keys):
            return
        raise ModelMismatch(f"gallery holds {self.model or 'untagged'} embeddings, got {model}")

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def add(self, key: str, embedding: np.ndarray, *, model: str | None = None) -> None:
        self.add_many([key], np.asarray(embedding, np.float32)[None], model=model)

    def add_template(self, key: str, template: FaceTemplate) -> None:
        self.add(key, template.embedding, model=template.model_tag)

    def add_many(self, keys: list[str], embeddings: np.ndarray, *, model: str | None = None) -> None:
        """Add embeddings; *model* (a ``model_tag``) is checked against the gallery's, and an
        empty untagged gallery adopts it."""
        self._check_model(model)
        embeddings = np.asarray(embeddings, np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dimension:
            raise ValueError(f"expected embeddings of shape (n, {self.dimension}), got {embeddings.shape}")
        if len(keys) != len(embeddings):
            raise ValueError("keys and embeddings differ in length")
        if self.model is None and model is not None and not self._keys:
            self.model = model
        self._keys.extend(keys)
        self._chunks.append(l2_normalise(embeddings))
        self._centroids = None

    def _consolidate(self) -> np.ndarray:
        if self._chunks:
            self._matrix = np.concatenate([self._matrix, *self._chunks])
            self._chunks = []
        return self._matrix

    def build_index(self, iterations: int = 8) -> None:
        """Spherical k-means over the gallery (done once after loading a large watchlist)."""
        data = self._consolidate()
        cells = min(self.cells, max(1, len(data) // 39))
        rng = np.random.default_rng(self._seed)
        centroids = data[rng.choice(len(data), cells, replace=False)].copy()
        for _ in range(iterations):
            assign = np.argmax(data @ centroids.T, axis=1)
            sums = np.zeros_like(centroids)
            np.add.at(sums, assign, data)
            empty = np.bincount(assign, minlength=cells) == 0
            sums[empty] = centroids[empty]
            centroids = l2_normalise(sums)
        self._centroids = centroids
        self._assign = np.argmax(data @ centroids.T, axis=1)

    def search(self, probe: np.ndarray, k: int = 5, *, model: str | None = None) -> list[Hit]:
        return self.search_batch(np.asarray(probe, np.float32)[None], k, model=model)[0]

    def search_template(self, template: FaceTemplate, k: int = 5) -> list[Hit]:
        return self.search(template.embedding, k, model=template.model_tag)

    def search_batch(self, probes: np.ndarray, k: int = 5, *, model: str | None = None) -> list[list[Hit]]:
        """Top-k per probe, best first."""
        self._check_model(model)
        probes = np.asarray(probes, np.float32)
        if probes.shape[-1] != self.dimension:
            raise ValueError(f"expected probes of dimension {self.dimension}, got {probes.shape}")
        data = self._consolidate()
        probes = l2_normalise(np.asarray(probes, np.float32).reshape(-1, self.dimension))
        if len(data) == 0:
            return [[] for _ in probes]
        if len(data) > self.index_above and self._centroids is None:
            self.build_index()
        if self._centroids is not None and len(data) > self.index_above:
            return [self._search_indexed(p, k) for p in probes]
        scores = probes @ data.T
        k = min(k, len(data))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        results = []
        for row, idx in zip(scores, top):
            idx = idx[np.argsort(-row[idx])]
            results.append([Hit(self._keys[i], float(row[i])) for i in idx])
        return results

    def _search_indexed(self, probe: np.ndarray, k: int) -> list[Hit]:
        assert self._centroids is not None and self._assign is not None
        cells = np.argsort(-(self._centroids @ probe))[: self.probe_cells]
        members = np.nonzero(np.isin(self._assign, cells))[0]
        scores = self._matrix[members] @ probe
        k = min(k, len(members))
        top = members[np.argsort(-scores)[:k]]
        return [Hit(self._keys[i], float(self._matrix[i] @ probe)) for i in top]
