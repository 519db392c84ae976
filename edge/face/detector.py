"""YuNet face detector (5 landmarks) on onnxruntime.

The converted model takes any input whose sides are multiples of 32. The image is scaled so its
longer side is ``input_size_px`` (320 by default: a gate camera frame holds one face that fills a
good part of it, and 320 costs a quarter of 640), padded at the right and bottom, and decoded as
OpenCV's FaceDetectorYN does: score = sqrt(cls * obj), boxes and landmarks relative to each anchor
cell at strides 8, 16 and 32, then non-maximum suppression. Smaller inputs are faster but the
landmarks of a small face barely follow head roll (see ``engine.DETECTOR_INPUT_PX``).
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np

from .errors import BadImage
from .types import Face

log = logging.getLogger(__name__)

STRIDES = (8, 16, 32)


def check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3 or min(image.shape[:2]) < 8:
        raise BadImage("expected a BGR uint8 image of shape (H, W, 3)")


class YuNetDetector:
    """Detect faces; ``session`` is an onnxruntime session of the ``face-yunet`` model.

    ``score_threshold`` 0.6 and ``nms_threshold`` 0.3 follow the OpenCV Zoo defaults for gates
    (a missed face costs a retry; a false face is removed by quality and size checks).
    """

    def __init__(self, session: Any, *, input_size_px: int = 320, score_threshold: float = 0.6,
                 nms_threshold: float = 0.3, top_k: int = 50) -> None:
        if input_size_px % 32:
            raise ValueError(f"input_size_px {input_size_px} is not a multiple of 32")
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self._output_names = [o.name for o in session.get_outputs()]
        self.input_size_px = input_size_px
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = image.shape[:2]
        scale = self.input_size_px / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1
                             else cv2.INTER_LINEAR)
        ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
        if (ph, pw) != (nh, nw):
            resized = cv2.copyMakeBorder(resized, 0, ph - nh, 0, pw - nw, cv2.BORDER_CONSTANT, value=0)
        # blobFromImage does the HWC->NCHW float32 conversion in one native pass (no numpy copies).
        return cv2.dnn.blobFromImage(resized), scale

    def detect(self, image: np.ndarray) -> list[Face]:
        """All faces above the score threshold, best first, in the image's own pixels."""
        check_image(image)
        blob, scale = self._prepare(image)
        outputs = dict(zip(self._output_names, self._session.run(None, {self._input_name: blob})))
        pw = blob.shape[3]
        boxes, kps, scores = [], [], []
        for stride in STRIDES:
            cols = pw // stride
            cls = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1)
            obj = np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1)
            score = np.sqrt(cls * obj)
            keep = np.nonzero(score >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            c = (keep % cols).astype(np.float32)
            r = (keep // cols).astype(np.float32)
            bb = outputs[f"bbox_{stride}"][0, keep]
            cx, cy = (c + bb[:, 0]) * stride, (r + bb[:, 1]) * stride
            bw, bh = np.exp(bb[:, 2]) * stride, np.exp(bb[:, 3]) * stride
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1))
            k = outputs[f"kps_{stride}"][0, keep].reshape(-1, 5, 2)
            k = np.stack([(k[:, :, 0] + c[:, None]) * stride, (k[:, :, 1] + r[:, None]) * stride], -1)
            kps.append(k)
            scores.append(score[keep])
        if not boxes:
            return []
        all_boxes = np.concatenate(boxes) / scale
        all_kps = np.concatenate(kps) / scale
        all_scores = np.concatenate(scores)
        keep = cv2.dnn.NMSBoxes(all_boxes.tolist(), all_scores.tolist(), self.score_threshold,
                                self.nms_threshold, top_k=self.top_k)
        order = sorted(np.asarray(keep).reshape(-1).tolist(), key=lambda i: -all_scores[i])
        return [Face(box=tuple(float(v) for v in all_boxes[i]), landmarks=all_kps[i].astype(np.float32),
                     score=float(all_scores[i])) for i in order]
