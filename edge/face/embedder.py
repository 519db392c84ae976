"""Face embedders: an aligned 112x112 face to a unit vector, whatever the model's dimension.

Every embedder model we ship takes the same input, float32 [N,3,112,112] RGB 0..255 aligned to
the ArcFace template, and normalises inside its graph (SFace subtracts 127.5 and scales by 1/128;
models/face/convert_mobilefacenet.py added the same two ops to MobileFaceNet). So one class
serves all of them, and the dimension (128 for SFace, 192 for MobileFaceNet) is read from the
model's output, never assumed.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class OnnxEmbedder:
    """``session`` is an onnxruntime session of a ``face-sface*`` or ``face-mobilefacenet`` model.

    Both were trained on RGB input (OpenCV's FaceRecognizerSF swaps channels before SFace too),
    so the BGR crop is reversed and transposed; nothing else happens outside the graph.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._input_name = session.get_inputs()[0].name
        shape = session.get_outputs()[0].shape
        if len(shape) != 2 or not isinstance(shape[1], int):
            raise ValueError(f"embedder output shape {shape} is not [N, dimension]")
        self.dimension: int = shape[1]

    def embed_aligned(self, aligned_bgr: np.ndarray) -> np.ndarray:
        if aligned_bgr.shape != (112, 112, 3):
            raise ValueError(f"expected an aligned 112x112x3 face, got {aligned_bgr.shape}")
        # One copy: the reversed, transposed view becomes a contiguous float32 blob.
        blob = np.ascontiguousarray(aligned_bgr[:, :, ::-1].transpose(2, 0, 1)[None], np.float32)
        out = self._session.run(None, {self._input_name: blob})[0][0]
        return l2_normalise(out.astype(np.float32))


# The name the engine used while SFace was its only embedder.
SFaceEmbedder = OnnxEmbedder
