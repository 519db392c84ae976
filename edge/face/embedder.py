"""Face embedders: a face to a unit vector, whatever the model's dimension.

Every embedder model we ship takes the same input, float32 [N,3,S,S] RGB 0..255 aligned to the
ArcFace 5-point template, and normalises inside its graph. Most take the 112x112 ArcFace crop;
one (faceres) wants a looser 224x224 crop, so each embedder states its crop (``size_px``,
``margin``, from its manifest) and aligns the face itself when the engine's 112 crop is not it.
The dimension (128 for SFace, 192 for MobileFaceNet, ...) is read from the model's output.

Two ways to do better than one plain pass, both measured in bench/face/RESULTS.md:

- flip test-time augmentation (``flip=True``): the embedding of the crop plus that of its mirror
  image, normalised. A face's two halves are seen by the network from both sides, which steadies
  the embedding against a slightly turned head or one-sided light; it costs a second pass.
- score fusion (``FusedEmbedder``): the weighted sum of several embedders' cosine scores. With
  unit parts scaled by sqrt(weight) and weights summing to 1, the concatenated vector is itself a
  unit vector whose dot product is exactly that weighted sum, so galleries, 1:N search and
  templates work on a fused embedding unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .align import align


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Embedder(Protocol):
    """What the engine needs of an embedder."""

    dimension: int

    def embed_face(self, image: np.ndarray, landmarks: np.ndarray,
                   aligned112: np.ndarray | None = None) -> np.ndarray: ...


class OnnxEmbedder:
    """``session`` is an onnxruntime session of one of the ``face-*`` embedder models.

    All were trained on RGB input (OpenCV's FaceRecognizerSF swaps channels before SFace too),
    so the BGR crop is reversed and transposed; nothing else happens outside the graph.
    ``margin`` is the crop's extra margin around the ArcFace crop (manifest ``crop.margin``);
    ``flip`` turns on flip test-time augmentation.
    """

    def __init__(self, session: Any, *, margin: float = 0.0, flip: bool = False) -> None:
        self._session = session
        inp = session.get_inputs()[0]
        self._input_name = inp.name
        in_shape = getattr(inp, "shape", None) or ["N", 3, 112, 112]
        self.size_px: int = in_shape[2] if isinstance(in_shape[2], int) else 112
        # A model with a fixed batch of 1 (SFace) runs the mirror image as a second call.
        self._batches = not isinstance(in_shape[0], int)
        shape = session.get_outputs()[0].shape
        if len(shape) != 2 or not isinstance(shape[1], int):
            raise ValueError(f"embedder output shape {shape} is not [N, dimension]")
        self.dimension: int = shape[1]
        self.margin = float(margin)
        self.flip = bool(flip)

    def _run(self, crops_bgr: np.ndarray) -> np.ndarray:
        # One copy: the reversed, transposed view becomes a contiguous float32 blob.
        blob = np.ascontiguousarray(crops_bgr[..., ::-1].transpose(0, 3, 1, 2), np.float32)
        if self._batches or len(blob) == 1:
            return self._session.run(None, {self._input_name: blob})[0]
        return np.concatenate([self._session.run(None, {self._input_name: b[None]})[0] for b in blob])

    def embed_aligned(self, aligned_bgr: np.ndarray) -> np.ndarray:
        """The unit embedding of a face already aligned to this embedder's crop."""
        if aligned_bgr.shape != (self.size_px, self.size_px, 3):
            raise ValueError(f"expected an aligned {self.size_px}x{self.size_px}x3 face, got {aligned_bgr.shape}")
        if not self.flip:
            return l2_normalise(self._run(aligned_bgr[None])[0].astype(np.float32))
        pair = self._run(np.stack([aligned_bgr, aligned_bgr[:, ::-1]])).astype(np.float32)
        return l2_normalise(l2_normalise(pair).sum(0))

    def embed_face(self, image: np.ndarray, landmarks: np.ndarray,
                   aligned112: np.ndarray | None = None) -> np.ndarray:
        """Embed the face at *landmarks* in *image*; *aligned112*, the engine's ArcFace crop, is
        used as is when it is this embedder's crop."""
        if aligned112 is not None and self.size_px == 112 and self.margin == 0.0:
            return self.embed_aligned(aligned112)
        return self.embed_aligned(align(image, landmarks, self.size_px, self.margin))


class FusedEmbedder:
    """Score fusion of several embedders: cosine(fused a, fused b) = sum of w_i * cosine_i.

    ``weights`` are normalised to sum to 1; each part's unit embedding is scaled by the square
    root of its weight and the parts are concatenated.
    """

    def __init__(self, parts: Sequence[OnnxEmbedder], weights: Sequence[float]) -> None:
        if len(parts) != len(weights) or not parts:
            raise ValueError("a fusion needs one weight per embedder, and at least one embedder")
        w = np.asarray(weights, np.float64)
        if np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"fusion weights must be non-negative and not all zero, got {list(weights)}")
        self.parts = tuple(parts)
        self.weights = tuple(float(v) for v in w / w.sum())
        self._scales = np.sqrt(np.asarray(self.weights, np.float32))
        self.dimension: int = sum(p.dimension for p in self.parts)

    def embed_face(self, image: np.ndarray, landmarks: np.ndarray,
                   aligned112: np.ndarray | None = None) -> np.ndarray:
        return np.concatenate([s * p.embed_face(image, landmarks, aligned112)
                               for s, p in zip(self._scales, self.parts)]).astype(np.float32)

    def embed_aligned(self, aligned_bgr: np.ndarray) -> np.ndarray:
        """Only when every part takes the plain 112 ArcFace crop."""
        if any(p.size_px != 112 or p.margin for p in self.parts):
            raise ValueError("a part of this fusion needs its own crop: use embed_face")
        return np.concatenate([s * p.embed_aligned(aligned_bgr)
                               for s, p in zip(self._scales, self.parts)]).astype(np.float32)


def fuse_scores(scores: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The fused score of per-embedder cosine scores, as ``FusedEmbedder`` computes it."""
    w = np.asarray(weights, np.float64)
    w = w / w.sum()
    return np.sum([wi * np.asarray(s, np.float64) for wi, s in zip(w, scores)], axis=0)


# The name the engine used while SFace was its only embedder.
SFaceEmbedder = OnnxEmbedder
