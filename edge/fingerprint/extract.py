"""Image to template: normalise, ridge field, Gabor enhancement, thinning, minutiae, quality."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from .enhance import binarise, gabor_enhance, thin
from .errors import CaptureRefused
from .minutiae import MinutiaeParams, detect
from .quality import QualityPolicy, QualityReport, assess
from .ridges import normalise, ridge_field, upsample
from .template import Template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extraction:
    template: Template
    quality: QualityReport


def extract_features(img: np.ndarray, *, ppi: int = 500, max_minutiae: int = 80,
                     policy: QualityPolicy | None = None,
                     params: MinutiaeParams | None = None) -> Extraction:
    """Template and quality report of a uint8 grey image; never refuses (see ``extract``)."""
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"fingerprint image must be 2-D uint8, got {img.dtype} {img.shape}")
    h, w = img.shape
    # the ridge field and the Gabor filtering run at half resolution (ridges are ~9 px apart at
    # 500 ppi, so 4.5 px is still well sampled) and cost a quarter; thinning stays at full size
    small = cv2.resize(normalise(img), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    field_small = ridge_field(small, scale=0.5)
    enhanced = cv2.resize(gabor_enhance(small, field_small), (w, h), interpolation=cv2.INTER_LINEAR)
    field = upsample(field_small, (h, w), 2.0)
    skel = thin(binarise(enhanced, field.mask))
    xy, angle, kind, mq = detect(skel, field, params or MinutiaeParams())
    report = assess(img, field, len(xy), ppi, policy or QualityPolicy())
    tpl = Template.from_arrays(xy, angle, kind, mq, width=img.shape[1], height=img.shape[0],
                               resolution_ppi=ppi, image_quality=report.score)
    return Extraction(template=tpl.strongest(max_minutiae), quality=report)


def extract(img: np.ndarray, **kwargs) -> Template:
    """Template of a usable capture; raises ``CaptureRefused`` with the reason otherwise."""
    result = extract_features(img, **kwargs)
    if not result.quality.is_acceptable:
        log.info("capture refused: %s (%s)", result.quality.reason, result.quality.detail)
        raise CaptureRefused(result.quality.reason or "unknown", result.quality.detail)
    return result.template
