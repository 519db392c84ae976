"""FaceEngine: the facade the gate, the CCTV node and central enrolment call.

It owns one detector session and one embedder session (loaded by manifest, checksum verified,
through ``edge.modelstore``) and the operating thresholds from the embedder's manifest. Images are
numpy BGR uint8 arrays (the OpenCV convention). No I/O besides loading the models.

The default embedder is MobileFaceNet (192-d, about 5 ms a face on one core); SFace (128-d,
int8) stays selectable by name. Templates carry the embedder's name and version, because two
models' embeddings never compare: ``verify`` refuses a template of another model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edge import modelstore

from .align import align
from .detector import YuNetDetector, check_image
from .embedder import OnnxEmbedder
from .errors import CaptureRefused, ModelMismatch, NoFaceFound
from .quality import QualityPolicy, assess
from .types import Face, FaceTemplate, Quality, Verification, model_tag
from .verify import DEFAULT_TARGET_FMR, cosine, decide, operating_threshold

log = logging.getLogger(__name__)

DETECTOR_MODEL = "face-yunet"
EMBEDDER_MODEL = "face-mobilefacenet"
EMBEDDER_MODELS = ("face-mobilefacenet", "face-sface", "face-sface-fp32")
# Long side the detector runs at. 160 px would save about 2 ms a face and verifies the shared
# face set as well, but YuNet's landmarks on a face that small barely follow a tilted head (35
# degrees of roll read as 1 to 4), so alignment and the pose check fail on tilted faces; at 320
# they read 17 (bench/face/RESULTS.md).
DETECTOR_INPUT_PX = 320


class FaceEngine:
    """Detect, align, assess, embed and compare faces.

    ``operating_points`` maps a target FMR (as a string, e.g. "0.0005") to a cosine threshold;
    ``target_fmr`` picks the one ``verify`` uses (default 0.05 %, the EU EES figure).
    """

    def __init__(self, detector: YuNetDetector, embedder: OnnxEmbedder, *,
                 operating_points: dict[str, float], target_fmr: float = DEFAULT_TARGET_FMR,
                 policy: QualityPolicy | None = None, embedder_name: str = EMBEDDER_MODEL,
                 embedder_version: str = "") -> None:
        self.detector = detector
        self.embedder = embedder
        self.operating_points = dict(operating_points)
        self.target_fmr = target_fmr
        self.threshold = operating_threshold(self.operating_points, target_fmr)
        self.policy = policy or QualityPolicy()
        self.embedder_name = embedder_name
        self.embedder_version = embedder_version

    @property
    def dimension(self) -> int:
        """Length of this engine's embeddings (galleries and enrolment stores size by it)."""
        return self.embedder.dimension

    @property
    def model_tag(self) -> str:
        """The embedder's name and version, as its templates carry them."""
        return model_tag(self.embedder_name, self.embedder_version)

    @classmethod
    def from_models(cls, *, models_dir: Path | None = None, embedder_model: str = EMBEDDER_MODEL,
                    detector_input_px: int = DETECTOR_INPUT_PX, target_fmr: float = DEFAULT_TARGET_FMR,
                    policy: QualityPolicy | None = None) -> FaceEngine:
        det = modelstore.onnx_session(DETECTOR_MODEL, models_dir=models_dir)
        emb_manifest = modelstore.find_manifest(embedder_model, models_dir)
        emb = modelstore.onnx_session(embedder_model, models_dir=models_dir)
        points = emb_manifest.extra.get("operating_points", {})
        return cls(YuNetDetector(det, input_size_px=detector_input_px), OnnxEmbedder(emb),
                   operating_points=points, target_fmr=target_fmr, policy=policy,
                   embedder_name=embedder_model, embedder_version=emb_manifest.version)

    # -- single image ---------------------------------------------------------------------------

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.detector.detect(image)

    def primary_face(self, image: np.ndarray) -> Face:
        """The face nearest the camera (largest box), the one a gate or enrolment means."""
        faces = self.detect(image)
        if not faces:
            raise NoFaceFound("no face found in the image")
        return max(faces, key=lambda f: f.area)

    def template_of(self, image: np.ndarray, face: Face) -> FaceTemplate:
        aligned = align(image, face.landmarks)
        quality = assess(face, aligned, self.policy)
        return FaceTemplate(embedding=self.embedder.embed_aligned(aligned), face=face,
                            quality=quality, model=self.embedder_name,
                            model_version=self.embedder_version)

    def template(self, image: np.ndarray) -> FaceTemplate:
        """Embedding, box and quality of the primary face; quality is reported, not enforced."""
        check_image(image)
        return self.template_of(image, self.primary_face(image))

    def capture(self, image: np.ndarray) -> FaceTemplate:
        """As ``template`` but refuses a capture that fails the quality policy (gate use)."""
        tmpl = self.template(image)
        if tmpl.quality.reasons:
            raise CaptureRefused("capture refused: " + ", ".join(tmpl.quality.reasons),
                                 tmpl.quality.reasons)
        return tmpl

    def embed(self, image: np.ndarray) -> np.ndarray:
        return self.template(image).embedding

    def quality(self, image: np.ndarray) -> Quality:
        face = self.primary_face(image)
        return assess(face, align(image, face.landmarks), self.policy)

    # -- comparison -----------------------------------------------------------------------------

    def verify(self, probe: np.ndarray | FaceTemplate, enrolled: np.ndarray | FaceTemplate,
               *, target_fmr: float | None = None) -> Verification:
        """1:1: is *probe* (an image, an embedding or a template) the *enrolled* holder?"""
        fmr = self.target_fmr if target_fmr is None else target_fmr
        threshold = self.threshold if target_fmr is None \
            else operating_threshold(self.operating_points, fmr)
        score = cosine(self._vector(probe), self._vector(enrolled))
        result = decide(score, threshold, fmr)
        log.info("face 1:1 score %.4f threshold %.4f match %s", result.score, threshold, result.match)
        return result

    def _vector(self, item: np.ndarray | FaceTemplate) -> np.ndarray:
        if isinstance(item, FaceTemplate):
            if item.model_tag != self.model_tag:
                raise ModelMismatch(f"template from {item.model_tag}, this engine runs {self.model_tag}")
            return item.embedding
        arr = np.asarray(item)
        if arr.ndim == 3:
            return self.embed(arr)
        vector = arr.astype(np.float32).ravel()
        if vector.size != self.dimension:
            raise ModelMismatch(f"embedding of {vector.size} values, {self.model_tag} gives {self.dimension}")
        return vector
