"""The face watchlist as one versioned value: templates of enrolled photos, by entry and list.

Central builds it from its database, publishes it, and hashes its canonical bytes; a camera
node assembles the same value from the chunks (or applies a delta), hashes it again and refuses
it when the digests differ, so every node running version N runs the very same templates.
Pure: no I/O besides :func:`save` and :func:`load` of the node's local copy.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from protocol.cctv import FaceListDelta, FaceTemplateRecord

log = logging.getLogger(__name__)


class FaceListError(ValueError):
    """A face list that cannot be used: bad delta base, digest mismatch, unreadable copy."""


def encode_embedding(vector: np.ndarray) -> str:
    """Base64 of the little-endian float32 values (the wire form of ``FaceTemplateRecord``)."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").ravel().tobytes()).decode("ascii")


def decode_embedding(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


class FaceListSnapshot(BaseModel):
    """Every template in force at ``version``, sorted by template id; ``model`` is the embedder
    (name@version) that made all of them, because templates of two models never compare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=0)
    model: str = Field(min_length=1, max_length=96)
    templates: tuple[FaceTemplateRecord, ...] = ()

    @field_validator("templates")
    @classmethod
    def _canonical(cls, templates: tuple[FaceTemplateRecord, ...]) -> tuple[FaceTemplateRecord, ...]:
        ordered = tuple(sorted(templates, key=lambda t: t.template_id))
        for a, b in itertools.pairwise(ordered):
            if a.template_id == b.template_id:
                raise ValueError(f"template id {a.template_id!r} appears twice")
        return ordered

    def canonical_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()

    @property
    def entries(self) -> int:
        return len({t.entry_id for t in self.templates})

    def apply(self, delta: FaceListDelta) -> FaceListSnapshot:
        """The snapshot *delta* leads to; ``FaceListError`` when it does not start here."""
        if delta.base_version != self.version:
            raise FaceListError(f"delta {delta.base_version}->{delta.version} does not apply to version {self.version}")
        if delta.model != self.model and self.templates:
            raise FaceListError(f"delta of model {delta.model} cannot apply to a list of {self.model}")
        removed = set(delta.removed)
        by_id = {t.template_id: t for t in self.templates if t.template_id not in removed}
        for template in delta.added:
            by_id[template.template_id] = template
        return FaceListSnapshot(version=delta.version, model=delta.model, templates=tuple(by_id.values()))

    def delta_to(self, newer: FaceListSnapshot) -> FaceListDelta:
        """The delta from this snapshot to *newer* (central publishes it beside the chunks)."""
        mine = {t.template_id: t for t in self.templates}
        theirs = {t.template_id: t for t in newer.templates}
        added = tuple(theirs[k] for k in sorted(theirs) if mine.get(k) != theirs[k])
        removed = tuple(sorted(k for k in mine if k not in theirs))
        return FaceListDelta(base_version=self.version, version=newer.version, total_templates=len(theirs),
                             model=newer.model, sha256=newer.sha256(), added=added, removed=removed)


def save(snapshot: FaceListSnapshot, path: Path) -> None:
    """Write atomically (temp file, fsync, rename): a crash leaves the old copy or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(snapshot.canonical_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> FaceListSnapshot | None:
    """The local copy, or None when there is none yet; ``FaceListError`` when it is unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FaceListError(f"face list {path}: {exc}") from exc
    try:
        return FaceListSnapshot.model_validate_json(data)
    except ValidationError as exc:
        raise FaceListError(f"face list {path} is damaged: {exc.errors()[0].get('msg')}") from exc
