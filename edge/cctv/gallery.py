"""The camera node's 1:N search: face-list templates in an ``edge.face.Gallery``, answered by entry.

A watchlist entry may have several photos (several templates); an entry's score for a probe is
its best template's. The gallery is built once per installed face-list version and swapped whole,
so a search never sees half a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.face import FaceEngine, Gallery
from edge.face.errors import FaceError

from .facelist import FaceListSnapshot, decode_embedding

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class EntryHit:
    """An entry's best template for one probe."""

    entry_id: str
    list: str
    template_id: str
    score: float


@dataclass(frozen=True)
class EnrolmentProblem:
    """A gallery photo that gave no template, and why (the standalone node reports these)."""

    path: str
    reason: str


class WatchlistGallery:
    """Templates keyed by template id, each with its entry and list.

    ``model`` is the embedder tag of every template; a probe of another model raises
    ``edge.face.ModelMismatch`` (in :class:`edge.face.Gallery`).
    """

    def __init__(self, dimension: int, *, model: str, version: int = 0) -> None:
        self.version = version
        self.model = model
        self._gallery = Gallery(dimension, model=model)
        self._entry_of: dict[str, tuple[str, str]] = {}
        # Each entry's templates again, so any entry can be scored on any face (decision.Scorer).
        self._by_entry: dict[str, np.ndarray] = {}

    @classmethod
    def from_snapshot(cls, snapshot: FaceListSnapshot, dimension: int) -> WatchlistGallery:
        gallery = cls(dimension, model=snapshot.model, version=snapshot.version)
        if snapshot.templates:
            gallery.add_many(
                [(t.template_id, t.entry_id, t.list) for t in snapshot.templates],
                np.stack([decode_embedding(t.embedding) for t in snapshot.templates]),
            )
        return gallery

    def add_many(self, keys: Iterable[tuple[str, str, str]], embeddings: np.ndarray) -> None:
        keys = list(keys)
        self._gallery.add_many([k[0] for k in keys], embeddings, model=self.model)
        unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        grouped: dict[str, list[np.ndarray]] = {}
        for (template_id, entry_id, list_name), vector in zip(keys, unit.astype(np.float32), strict=True):
            self._entry_of[template_id] = (entry_id, list_name)
            grouped.setdefault(entry_id, []).append(vector)
        for entry_id, vectors in grouped.items():
            old = self._by_entry.get(entry_id)
            self._by_entry[entry_id] = np.vstack(([old] if old is not None else []) + vectors)

    def entry_score(self, probe: np.ndarray, entry_id: str) -> float:
        """*probe*'s score against *entry_id* (its best template); -1 for an unknown entry."""
        vectors = self._by_entry.get(entry_id)
        if vectors is None:
            return -1.0
        unit = probe / max(float(np.linalg.norm(probe)), 1e-12)
        return float(np.max(vectors @ unit))

    def __len__(self) -> int:
        """Templates: each one is a comparison a probe must survive (FPIR is per search of all)."""
        return len(self._gallery)

    @property
    def entries(self) -> int:
        return len({entry for entry, _ in self._entry_of.values()})

    def search(self, probe: np.ndarray, k: int = 3) -> list[EntryHit]:
        """The *k* best entries for *probe*, best first."""
        if not len(self._gallery):
            return []
        hits = self._gallery.search(probe, min(len(self._gallery), max(k * 4, 10)), model=self.model)
        best: dict[str, EntryHit] = {}
        for hit in hits:
            entry_id, list_name = self._entry_of[hit.key]
            if entry_id not in best:
                best[entry_id] = EntryHit(entry_id, list_name, hit.key, hit.score)
        return sorted(best.values(), key=lambda h: -h.score)[:k]


def gallery_from_folder(engine: FaceEngine, folder: Path, *, list_name: str = "local"
                        ) -> tuple[WatchlistGallery, list[EnrolmentProblem]]:
    """One entry per sub-folder of *folder* (its name is the entry id), one template per photo.

    A photo without a usable face is reported, not fatal: the rest of the list still protects.
    Quality reasons are reported too, but such a template is kept (an operator chose the photo).
    """
    from edge.imageload import FACE_LIMITS, ImageRefused, load_image

    if not folder.is_dir():
        raise FileNotFoundError(f"gallery {folder} is not a folder")
    gallery = WatchlistGallery(engine.dimension, model=engine.model_tag)
    problems: list[EnrolmentProblem] = []
    keys: list[tuple[str, str, str]] = []
    vectors: list[np.ndarray] = []
    for person in sorted(p for p in folder.iterdir() if p.is_dir()):
        for photo in sorted(p for p in person.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            try:
                image = load_image(photo, limits=FACE_LIMITS)
            except ImageRefused as exc:
                detail = str(exc).removeprefix(f"{photo}: ")
                problems.append(EnrolmentProblem(str(photo), f"unreadable image ({exc.reason}: {detail})"))
                continue
            try:
                template = engine.template(image)
            except FaceError as exc:
                problems.append(EnrolmentProblem(str(photo), str(exc)))
                continue
            if template.quality.reasons:
                problems.append(EnrolmentProblem(str(photo), "quality: " + ", ".join(template.quality.reasons)))
            keys.append((f"{person.name}:{photo.stem}"[:64], person.name, list_name))
            vectors.append(template.embedding)
    if vectors:
        gallery.add_many(keys, np.stack(vectors))
    return gallery, problems
