"""The fingerprint engine the gate runtime uses: extract, match, verify (1:1) and search (1:N).

Sans-IO apart from loading the calibration once in ``from_models()`` (through the model store,
so its SHA-256 is checked like any model file's). Images are uint8 grey
arrays at 500 ppi from the sensor driver (``edge/hardware``) or the simulator.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..modelstore import find_manifest, verified_path
from . import iso19794, mcc
from .calibration import DEFAULT_TARGET_FMR, Calibration
from .errors import CalibrationError
from .extract import Extraction, extract, extract_features
from .quality import QualityPolicy
from .search import Gallery, Projection
from .template import Template

log = logging.getLogger(__name__)

CALIBRATION_MODEL = "fingerprint-mcc-calibration"  # manifest name in models/fingerprint/


@dataclass(frozen=True)
class Verification:
    """Outcome of a 1:1 comparison (verifikasi sidik jari)."""

    score: float
    threshold: float
    match: bool


class FingerprintEngine:
    """Minutiae extraction, MCC matching and a threshold calibrated to a target FMR.

    *target_fmr* defaults to 0.05 %; *threshold*, when given, overrides the calibration.
    """

    def __init__(self, calibration: Calibration | None = None, *, target_fmr: float = DEFAULT_TARGET_FMR,
                 threshold: float | None = None, policy: QualityPolicy | None = None,
                 params: mcc.MccParams = mcc.DEFAULT, models_dir: Path | None = None,
                 extractor: str = "classical") -> None:
        if extractor not in ("classical", "leader"):
            raise ValueError(f"unknown extractor {extractor!r}: classical or leader")
        if extractor == "leader" and threshold is None:
            # the calibration was fitted on classical minutiae; LEADER's scores need their own
            raise CalibrationError("the LEADER extractor has no calibration yet: give a threshold")
        self.extractor = extractor
        if threshold is None:
            if calibration is None:
                raise CalibrationError("a fingerprint engine needs a calibration or a threshold")
            threshold = calibration.threshold_for(target_fmr)
        self.calibration = calibration
        self.threshold = float(threshold)
        self.target_fmr = target_fmr
        self.policy = policy or QualityPolicy()
        self.params = params
        self.models_dir = models_dir  # where the 1:N prefilter's projection is read from

    @classmethod
    def from_models(cls, models_dir: Path | None = None, *, target_fmr: float = DEFAULT_TARGET_FMR,
                    **kwargs) -> FingerprintEngine:
        # the threshold decides who crosses the border: checksum-verified like any model file
        calibration = Calibration.load(verified_path(find_manifest(CALIBRATION_MODEL, models_dir)))
        engine = cls(calibration, target_fmr=target_fmr, models_dir=models_dir, **kwargs)
        log.info("fingerprint engine: threshold %.4f for FMR %g (%d impostor pairs)",
                 engine.threshold, target_fmr, calibration.impostor_pairs)
        return engine

    def assess(self, img: np.ndarray) -> Extraction:
        """Template and quality report without refusing (for the officer console)."""
        if self.extractor == "leader":
            from .leader import extract_with_leader

            return extract_with_leader(img, policy=self.policy)
        return extract_features(img, policy=self.policy)

    def extract(self, img: np.ndarray) -> Template:
        """Template of a capture; raises ``CaptureRefused`` (with ``reason``) for a poor one."""
        if self.extractor == "leader":
            report = self.assess(img)
            if not report.quality.is_acceptable:
                return extract(img, policy=self.policy)  # raises the same refusal as the classical path
            return report.template
        return extract(img, policy=self.policy)

    def match(self, a: Template, b: Template) -> float:
        return mcc.match(a, b, self.params)

    def verify(self, probe: Template, enrolled: Template) -> Verification:
        score = self.match(probe, enrolled)
        return Verification(score=score, threshold=self.threshold, match=score >= self.threshold)

    def new_gallery(self) -> Gallery:
        """An empty 1:N gallery using this engine's matcher settings."""
        return Gallery(params=self.params, projection=Projection.load(self.models_dir))

    def search(self, probe: Template, gallery: Gallery, top: int = 5) -> list[tuple[str, float]]:
        """1:N: (id, score) of the *top* best gallery entries, best first; compare with ``threshold``."""
        return gallery.search(probe, top=top)

    @staticmethod
    def to_iso(template: Template, **kwargs) -> bytes:
        return iso19794.to_iso(template, **kwargs)

    @staticmethod
    def from_iso(data: bytes, **kwargs) -> Template:
        return iso19794.from_iso(data, **kwargs)
