"""Face verification and liveness on the edge: detect (YuNet), align (5-point template),
quality, embed (MobileFaceNet by default, SFace selectable), 1:1 with an FMR-calibrated
threshold, 1:N gallery search, burst capture and presentation-attack checks. See docs/face.md."""

from .engine import FaceEngine
from .errors import BadImage, CalibrationMissing, CaptureRefused, FaceError, ModelMismatch, NoFaceFound
from .gallery import Gallery, Hit
from .quality import QualityPolicy
from .types import Face, FaceTemplate, Quality, Verification

__all__ = [
           "BadImage",
           "CalibrationMissing",
           "CaptureRefused",
           "Face",
           "FaceEngine",
           "FaceError",
           "FaceTemplate",
           "Gallery",
           "Hit",
           "ModelMismatch",
           "NoFaceFound",
           "Quality",
           "QualityPolicy",
           "Verification",
]
