"""SFace embedder: an aligned 112x112 face to a unit 128-d vector."""

from __future__ import annotations

from typing import Any

import numpy as np


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SFaceEmbedder:
    """``session`` is an onnxruntime session of a ``face-sface*`` model.

    SFace was trained on RGB input (OpenCV's FaceRecognizerSF swaps channels before the net), and
    its graph subtracts 127.5 and scales by 1/128 itself, so we only reorder and transpose.
    """

    dimension = 128

    def __init__(self, session: Any) -> None:
        self._session = session
        self._input_name = session.get_inputs()[0].name

    def embed_aligned(self, aligned_bgr: np.ndarray) -> np.ndarray:
        if aligned_bgr.shape != (112, 112, 3):
            raise ValueError(f"expected an aligned 112x112x3 face, got {aligned_bgr.shape}")
        blob = aligned_bgr[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)
        out = self._session.run(None, {self._input_name: blob})[0][0]
        return l2_normalise(out.astype(np.float32))
