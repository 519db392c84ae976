"""FaceEngine: the facade the gate, the CCTV node and central enrolment call.

It owns one detector session and its embedder sessions (loaded by manifest, checksum verified,
through ``edge.modelstore``) and the operating thresholds. Images are numpy BGR uint8 arrays (the
OpenCV convention). No I/O besides loading the models.

By default it runs the pipeline ``EMBEDDER_MODEL`` from models/face/pipelines.json (detector
setting, embedder or fusion of embedders, flip test-time augmentation and threshold, all chosen
and fitted on held-out people by bench/face/verification.py); a single embedder model stays
selectable by its manifest name, with that manifest's thresholds. Templates carry the
pipeline's or embedder's name and version, because two models' embeddings never compare:
``verify`` refuses a template of another model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edge import modelstore

from .align import align
from .detector import YuNetDetector, check_image
from .embedder import Embedder, FusedEmbedder, OnnxEmbedder
from .errors import CaptureRefused, ModelMismatch, NoFaceFound
from .pipeline import FacePipeline, load_pipelines
from .quality import QualityPolicy, assess
from .types import Face, FaceTemplate, Quality, Verification, model_tag
from .verify import DEFAULT_TARGET_FMR, cosine, decide, operating_threshold

log = logging.getLogger(__name__)

DETECTOR_MODEL = "face-yunet"
# The shipped pipeline (models/face/pipelines.json); the embedder models stay selectable by name.
EMBEDDER_MODEL = "face-gate"
EMBEDDER_MODELS = ("face-mobilefacenet", "face-sface", "face-sface-fp32", "face-mobileface")
# Long side the detector runs at. 160 px would save about 2 ms a face and verifies the shared
# face set as well, but YuNet's landmarks on a face that small barely follow a tilted head (35
# degrees of roll read as 1 to 4), so alignment and the pose check fail on tilted faces; at 320
# they read 17 (bench/face/RESULTS.md).
DETECTOR_INPUT_PX = 320
# Which detected face is the subject: "largest" (nearest the camera) or "central" (box centre
# nearest the image centre, as a gate camera aimed at the lane frames its traveler). Central is
# what the protocol chose, and what every single embedder's manifest thresholds were fitted with.
FACE_SELECTIONS = ("largest", "central")
FACE_SELECTION = "central"


def select_face(faces: list[Face], image_shape: tuple[int, ...], selection: str = FACE_SELECTION) -> Face:
    """The subject's face among *faces* (non-empty) of an image of *image_shape*."""
    if selection == "largest":
        return max(faces, key=lambda f: f.area)
    if selection == "central":
        cy, cx = image_shape[0] / 2, image_shape[1] / 2
        return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - cx) ** 2 + (f.box[1] + f.box[3] / 2 - cy) ** 2)
    raise ValueError(f"unknown face selection {selection!r}; expected one of {FACE_SELECTIONS}")


def load_embedder(name: str, *, models_dir: Path | None = None, flip: bool = False) -> OnnxEmbedder:
    """One embedder model by manifest name, with the crop its manifest asks for."""
    manifest = modelstore.find_manifest(name, models_dir)
    crop = manifest.extra.get("crop", {})
    return OnnxEmbedder(modelstore.onnx_session(name, models_dir=models_dir),
                        margin=float(crop.get("margin", 0.0)), flip=flip)


class FaceEngine:
    """Detect, align, assess, embed and compare faces.

    ``operating_points`` maps a target FMR (as a string, e.g. "0.0005") to a cosine threshold;
    ``target_fmr`` picks the one ``verify`` uses (default 0.05 %, the EU EES figure).
    """

    def __init__(self, detector: YuNetDetector, embedder: Embedder, *,
                 operating_points: dict[str, float], target_fmr: float = DEFAULT_TARGET_FMR,
                 policy: QualityPolicy | None = None, embedder_name: str = EMBEDDER_MODEL,
                 embedder_version: str = "", face_selection: str = FACE_SELECTION) -> None:
        if face_selection not in FACE_SELECTIONS:
            raise ValueError(f"unknown face selection {face_selection!r}; expected one of {FACE_SELECTIONS}")
        self.detector = detector
        self.embedder = embedder
        self.operating_points = dict(operating_points)
        self.target_fmr = target_fmr
        self.threshold = operating_threshold(self.operating_points, target_fmr)
        self.policy = policy or QualityPolicy()
        self.embedder_name = embedder_name
        self.embedder_version = embedder_version
        self.face_selection = face_selection

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
                    detector_input_px: int | None = None, target_fmr: float = DEFAULT_TARGET_FMR,
                    policy: QualityPolicy | None = None, face_selection: str | None = None) -> FaceEngine:
        """The engine for a pipeline of models/face/pipelines.json or a single embedder model.

        *detector_input_px* and *face_selection* override the pipeline's (a single embedder
        runs at ``DETECTOR_INPUT_PX`` and ``FACE_SELECTION`` unless given).
        """
        root = models_dir or modelstore.default_models_dir()
        det = modelstore.onnx_session(DETECTOR_MODEL, models_dir=models_dir)
        pipeline = load_pipelines(root).get(embedder_model)
        if pipeline is not None:
            return cls._from_pipeline(pipeline, det, models_dir=models_dir, detector_input_px=detector_input_px,
                                      target_fmr=target_fmr, policy=policy, face_selection=face_selection)
        emb_manifest = modelstore.find_manifest(embedder_model, models_dir)
        points = emb_manifest.extra.get("operating_points", {})
        return cls(YuNetDetector(det, input_size_px=detector_input_px or DETECTOR_INPUT_PX),
                   load_embedder(embedder_model, models_dir=models_dir),
                   operating_points=points, target_fmr=target_fmr, policy=policy,
                   embedder_name=embedder_model, embedder_version=emb_manifest.version,
                   face_selection=face_selection or FACE_SELECTION)

    @classmethod
    def _from_pipeline(cls, pipeline: FacePipeline, det_session, *, models_dir: Path | None,
                       detector_input_px: int | None, target_fmr: float, policy: QualityPolicy | None,
                       face_selection: str | None) -> FaceEngine:
        parts = [load_embedder(e.model, models_dir=models_dir, flip=pipeline.flip) for e in pipeline.embedders]
        versions = {e.model: modelstore.find_manifest(e.model, models_dir).version for e in pipeline.embedders}
        embedder: Embedder = parts[0] if len(parts) == 1 else FusedEmbedder(parts, [e.weight for e in pipeline.embedders])
        return cls(YuNetDetector(det_session, input_size_px=detector_input_px or pipeline.detector_input_px),
                   embedder, operating_points=pipeline.operating_points, target_fmr=target_fmr, policy=policy,
                   embedder_name=pipeline.name, embedder_version=pipeline.version(versions),
                   face_selection=face_selection or pipeline.face_selection)

    # -- single image ---------------------------------------------------------------------------

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.detector.detect(image)

    def primary_face(self, image: np.ndarray) -> Face:
        """The subject's face, the one a gate or enrolment means (``face_selection``: the
        largest box, or the one nearest the image centre)."""
        faces = self.detect(image)
        if not faces:
            raise NoFaceFound("no face found in the image")
        return select_face(faces, image.shape, self.face_selection)

    def template_of(self, image: np.ndarray, face: Face) -> FaceTemplate:
        aligned = align(image, face.landmarks)
        quality = assess(face, aligned, self.policy)
        return FaceTemplate(embedding=self.embedder.embed_face(image, face.landmarks, aligned), face=face,
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
