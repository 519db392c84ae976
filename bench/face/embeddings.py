"""Detections and embeddings of ../shared/data/faces, computed once per setting and cached.

The verification bench compares many configurations (detector input size, which face to take,
embedder, flip test-time augmentation, fusions of embedders). Each image is detected once per
detector setting and embedded once per (detector setting, embedder, flip); the results go to
``bench/face/out/`` (ignored by git) keyed by the setting and by the digest of the image list, so
a rerun on the same data only computes what is new. Nothing here decides anything: the protocol
(bench/evaluation.py) runs on what this module returns.

A failure to acquire (no face found) is kept as a row with ``ok = False``; the bench scores its
pairs as non-matches (ISO/IEC 19795-1), never drops them.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge import modelstore
from edge.face.align import align
from edge.face.detector import YuNetDetector
from edge.face.embedder import l2_normalise
from edge.face.engine import load_embedder, select_face
from edge.face.quality import assess

log = logging.getLogger(__name__)

OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class Images:
    """The evaluation images: path and subject (the folder name: one LFW person) of each."""

    paths: tuple[Path, ...]
    subjects: tuple[str, ...]

    @classmethod
    def under(cls, root: Path) -> Images:
        paths = tuple(sorted(root.glob("*/*.jpg")))
        return cls(paths, tuple(p.parent.name for p in paths))

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for p in self.paths:
            h.update(f"{p.parent.name}/{p.name}:{p.stat().st_size}\n".encode())
        return h.hexdigest()[:12]

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class Acquisition:
    """One detector setting's result on every image."""

    ok: np.ndarray  # bool (n,)
    landmarks: np.ndarray  # float32 (n, 5, 2); zeros where not ok
    boxes: np.ndarray  # float32 (n, 4)
    scores: np.ndarray  # detector confidence (n,)
    quality_reasons: tuple[tuple[str, ...], ...]  # the quality gate's refusals, per image
    quality_score: np.ndarray  # float32 (n,)


def _cached(name: str, compute) -> dict[str, np.ndarray]:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    arrays = compute()
    np.savez(path, **arrays)
    return arrays


def acquire(images: Images, detector_px: int, selection: str) -> Acquisition:
    """Detect every image at *detector_px* and keep the face *selection* names."""
    def compute() -> dict[str, np.ndarray]:
        det = YuNetDetector(modelstore.onnx_session("face-yunet"), input_size_px=detector_px)
        n = len(images)
        ok = np.zeros(n, bool)
        lm = np.zeros((n, 5, 2), np.float32)
        boxes = np.zeros((n, 4), np.float32)
        scores = np.zeros(n, np.float32)
        qscore = np.zeros(n, np.float32)
        reasons = []
        started = time.perf_counter()
        for k, path in enumerate(images.paths):
            img = cv2.imread(str(path))
            faces = det.detect(img)
            if not faces:
                reasons.append("no_face")
                continue
            face = select_face(faces, img.shape, selection)
            ok[k] = True
            lm[k], boxes[k], scores[k] = face.landmarks, face.box, face.score
            q = assess(face, align(img, face.landmarks))
            qscore[k] = q.score
            reasons.append(",".join(q.reasons))
        log.info("detected %d images at %d px (%s) in %.0f s", n, detector_px, selection,
                 time.perf_counter() - started)
        return {"ok": ok, "landmarks": lm, "boxes": boxes, "scores": scores,
                "quality_score": qscore, "reasons": np.array(reasons)}

    d = _cached(f"acquire-{images.digest}-{detector_px}-{selection}", compute)
    return Acquisition(d["ok"], d["landmarks"], d["boxes"], d["scores"],
                       tuple(tuple(r for r in str(s).split(",") if r) for s in d["reasons"]),
                       d["quality_score"])


def embed(images: Images, acq: Acquisition, acq_key: str, embedder_model: str) -> dict[str, np.ndarray]:
    """Unit embeddings of every acquired face, plain and of its mirror image.

    Returns ``{"plain": (n, d), "flipped": (n, d)}``; rows of images with no face are zero.
    Flip test-time augmentation is then ``l2_normalise(plain + flipped)`` (edge/face/embedder.py).
    """
    def compute() -> dict[str, np.ndarray]:
        emb = load_embedder(embedder_model)
        n = len(images)
        plain = np.zeros((n, emb.dimension), np.float32)
        flipped = np.zeros((n, emb.dimension), np.float32)
        started = time.perf_counter()
        for k, path in enumerate(images.paths):
            if not acq.ok[k]:
                continue
            crop = align(cv2.imread(str(path)), acq.landmarks[k], emb.size_px, emb.margin)
            plain[k] = emb.embed_aligned(crop)
            flipped[k] = emb.embed_aligned(np.ascontiguousarray(crop[:, ::-1]))
        log.info("embedded %d images with %s in %.0f s", n, embedder_model, time.perf_counter() - started)
        return {"plain": plain, "flipped": flipped}

    return _cached(f"embed-{images.digest}-{acq_key}-{embedder_model}", compute)


def with_flip(vectors: dict[str, np.ndarray], flip: bool) -> np.ndarray:
    return l2_normalise(vectors["plain"] + vectors["flipped"]) if flip else vectors["plain"]
