"""Optional learned minutiae: the LEADER network (ONNX), loaded from models/ by manifest.

The classical path (:mod:`edge.fingerprint.extract`) is the default: it is faster (LEADER takes
about half a second per image on one core) and as accurate with our matcher on the benchmark.
LEADER is the second opinion an officer console or an enrolment station can afford; install it
with ``models/fingerprint/install_leader.py``. The ridge field and quality still come from the
classical path, so a refusal reads the same whichever extractor runs.
"""

from __future__ import annotations

import numpy as np

from ..modelstore import onnx_session
from .extract import Extraction, extract_features
from .quality import QualityPolicy
from .template import BIFURCATION, ENDING, Template

MODEL_NAME = "fingerprint-leader"
QUALITY_THRESHOLD = 0.55


def leader_minutiae(img: np.ndarray, *, session=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(xy, angle, kind, quality 1..100) from LEADER on a 500 ppi uint8 image."""
    session = session or onnx_session(MODEL_NAME)
    h, w = img.shape
    big_h, big_w = (h + 31) // 32 * 32, (w + 31) // 32 * 32
    top, left = (big_h - h) // 2, (big_w - w) // 2
    padded = np.pad(img.astype(np.float32), ((top, big_h - h - top), (left, big_w - w - left)),
                    constant_values=float(img[0, 0]))
    out = session.run(None, {"input": padded[None, :, :, None]})[0][0, top:top + h, left:left + w]
    ys, xs = np.nonzero(out[..., 3] >= QUALITY_THRESHOLD)
    # LEADER measures angles counter-clockwise with y up; ours run clockwise with y down
    angle = np.mod(-out[ys, xs, 1], 2 * np.pi)
    kind = np.where(out[ys, xs, 2] >= 0.5, ENDING, BIFURCATION)
    quality = np.clip(np.round(100 * out[ys, xs, 3]), 1, 100)
    return np.stack([xs, ys], 1).astype(np.float32), angle, kind, quality


def extract_with_leader(img: np.ndarray, *, ppi: int = 500, max_minutiae: int = 80,
                        policy: QualityPolicy | None = None, session=None) -> Extraction:
    """Like :func:`edge.fingerprint.extract.extract_features`, with LEADER's minutiae."""
    classical = extract_features(img, ppi=ppi, policy=policy)
    xy, angle, kind, quality = leader_minutiae(img, session=session)
    report = classical.quality
    tpl = Template.from_arrays(xy, angle, kind, quality, width=img.shape[1], height=img.shape[0],
                               resolution_ppi=ppi, image_quality=report.score)
    return Extraction(template=tpl.strongest(max_minutiae), quality=report)
