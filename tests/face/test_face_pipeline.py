"""Pipelines (models/face/pipelines.json), flip test-time augmentation, score fusion, the face
selection and the converted mobileface embedder, all on real ONNX inference over the
public-domain test portraits."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edge import modelstore
from edge.face import FaceEngine
from edge.face.align import align
from edge.face.embedder import FusedEmbedder, fuse_scores
from edge.face.engine import EMBEDDER_MODEL, load_embedder, select_face
from edge.face.pipeline import FacePipeline, load_pipelines

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def crops(portraits) -> dict[str, np.ndarray]:
    det = FaceEngine.from_models(embedder_model="face-mobilefacenet").detector
    return {k: align(img, max(det.detect(img), key=lambda f: f.area).landmarks) for k, img in portraits.items()}


@pytest.mark.parametrize("model", ["face-mobilefacenet", "face-sface"])
def test_flip_tta_gives_a_face_and_its_mirror_image_the_same_embedding(model, crops):
    """SFace runs batch 1 (two calls), MobileFaceNet a batch of two: both paths are symmetric."""
    emb = load_embedder(model, flip=True)
    plain = load_embedder(model)
    a, b = emb.embed_aligned(crops["obama"]), emb.embed_aligned(np.ascontiguousarray(crops["obama"][:, ::-1]))
    np.testing.assert_allclose(a, b, atol=2e-5)
    assert abs(float(np.linalg.norm(a)) - 1) < 1e-5
    # and it is the mean of the two plain embeddings, normalised
    mirror = plain.embed_aligned(np.ascontiguousarray(crops["obama"][:, ::-1]))
    expected = plain.embed_aligned(crops["obama"]) + mirror
    np.testing.assert_allclose(a, expected / np.linalg.norm(expected), atol=2e-5)


def test_fused_score_is_the_weighted_sum_of_the_parts_cosines(portraits):
    mfn, sface = load_embedder("face-mobilefacenet"), load_embedder("face-sface")
    fused = FusedEmbedder([mfn, sface], [3, 7])
    assert fused.weights == pytest.approx((0.3, 0.7)) and fused.dimension == 192 + 128
    engine = FaceEngine.from_models(embedder_model="face-mobilefacenet")
    faces = {k: engine.primary_face(img) for k, img in portraits.items()}
    vec = {k: fused.embed_face(portraits[k], f.landmarks) for k, f in faces.items()}
    for a, b in [("obama", "obama2"), ("obama", "biden")]:
        cos = [float(p.embed_face(portraits[a], faces[a].landmarks) @ p.embed_face(portraits[b], faces[b].landmarks))
               for p in (mfn, sface)]
        assert float(vec[a] @ vec[b]) == pytest.approx(0.3 * cos[0] + 0.7 * cos[1], abs=1e-5)
        assert float(fuse_scores([np.array(cos[0]), np.array(cos[1])], [3, 7])) == pytest.approx(float(vec[a] @ vec[b]), abs=1e-5)
    assert abs(float(np.linalg.norm(vec["obama"])) - 1) < 1e-5
    assert float(vec["obama"] @ vec["obama2"]) > float(vec["obama"] @ vec["biden"])


@pytest.mark.parametrize("weights", [[1.0], [-0.5, 1.5], [0.0, 0.0]])
def test_fusion_refuses_weights_that_do_not_make_a_unit_vector(weights):
    mfn = load_embedder("face-mobilefacenet")
    with pytest.raises(ValueError):
        FusedEmbedder([mfn, mfn], weights)


def test_the_default_engine_runs_the_shipped_pipeline(engine, portraits):
    pipeline = load_pipelines(modelstore.default_models_dir())[EMBEDDER_MODEL]
    assert engine.embedder_name == EMBEDDER_MODEL == pipeline.name
    assert engine.detector.input_size_px == pipeline.detector_input_px
    assert engine.face_selection == pipeline.face_selection
    assert engine.threshold == pipeline.operating_points["0.0005"]
    versions = {e.model: modelstore.find_manifest(e.model).version for e in pipeline.embedders}
    assert engine.embedder_version == pipeline.version(versions)
    assert len(engine.embedder_version) <= 32  # central stores it in a String(32)
    # the shipped figures are the protocol's held-out ones, and meet the FMR target
    assert "5-fold by person" in pipeline.held_out["protocol"]
    for figures in (pipeline.held_out["selection_procedure"], pipeline.held_out["this_pipeline"]):
        assert figures["fmr"]["trials"] == 60_000 and figures["fnmr"]["trials"] == 3600
        assert figures["fmr"]["rate"] <= 0.0005 and figures["fmr"]["ci95_high"] <= 0.001
    template = engine.template(portraits["obama"])
    assert template.embedding.shape == (engine.dimension,)


def test_a_pipeline_version_names_what_makes_embeddings_comparable():
    base = {"name": "face-x", "detector_input_px": 320, "face_selection": "central", "flip": False,
            "embedders": [{"model": "face-sface", "weight": 1.0}], "operating_points": {"0.0005": 0.4}}
    v = FacePipeline.model_validate(base).version({"face-sface": "a"})
    assert v == FacePipeline.model_validate({**base, "detector_input_px": 480}).version({"face-sface": "a"})
    assert v != FacePipeline.model_validate({**base, "flip": True}).version({"face-sface": "a"})
    assert v != FacePipeline.model_validate(base).version({"face-sface": "b"})
    with pytest.raises(ValidationError):
        FacePipeline.model_validate({**base, "face_selection": "first"})
    with pytest.raises(ValidationError):
        FacePipeline.model_validate({**base, "extra": 1})


def test_a_pipeline_and_a_single_model_of_the_same_file_do_not_mix(tmp_path, portraits):
    """A pipeline written into another models folder is found there, and its templates are
    refused by an engine of the plain model (their versions differ)."""
    for f in (Path(modelstore.default_models_dir()) / "face").glob("*"):
        if f.name in ("yunet.onnx", "yunet.manifest.json", "sface.onnx", "sface.manifest.json"):
            (tmp_path / f.name).write_bytes(f.read_bytes())
    spec = {"name": "face-sface-flip", "detector_input_px": 320, "face_selection": "central", "flip": True,
            "embedders": [{"model": "face-sface", "weight": 1.0}], "operating_points": {"0.0005": 0.4}}
    (tmp_path / "pipelines.json").write_text(json.dumps({spec["name"]: spec}))
    flip = FaceEngine.from_models(models_dir=tmp_path, embedder_model="face-sface-flip")
    plain = FaceEngine.from_models(models_dir=tmp_path, embedder_model="face-sface")
    assert flip.embedder.flip and not plain.embedder.flip
    from edge.face import ModelMismatch

    with pytest.raises(ModelMismatch):
        plain.verify(flip.template(portraits["obama"]), plain.template(portraits["obama2"]))


def test_central_selection_takes_the_face_in_the_middle_not_the_largest(portraits):
    """An LFW photo's subject is the face at the centre; a bigger face at the edge is someone else."""
    canvas = np.full((600, 900, 3), 128, np.uint8)
    big = cv2.resize(portraits["biden"], (400, 400))
    small = cv2.resize(portraits["obama"], (220, 220))
    canvas[100:500, 0:400] = big
    canvas[190:410, 560:780] = small  # nearer the centre (450, 300) than the big one
    engine = FaceEngine.from_models(embedder_model="face-mobilefacenet")
    faces = engine.detect(canvas)
    assert len(faces) == 2
    largest = select_face(faces, canvas.shape, "largest")
    central = select_face(faces, canvas.shape, "central")
    assert largest.box[0] < 400 <= central.box[0]
    with pytest.raises(ValueError, match="unknown face selection"):
        select_face(faces, canvas.shape, "first")


def test_converted_mobileface_matches_tensorflow_js_on_a_portrait():
    """The committed ONNX file against the output the original runtime gave at conversion."""
    ref = json.loads((DATA / "mobileface_tfjs_obama.json").read_text())
    crop = cv2.imread(str(DATA / "obama_aligned112.png"))
    sess = modelstore.onnx_session("face-mobileface")
    raw = sess.run(None, {"input": np.ascontiguousarray(crop[:, :, ::-1].transpose(2, 0, 1)[None], np.float32)})[0][0]
    expected = np.array(ref["output"], np.float32)
    assert raw.shape == (256,)
    np.testing.assert_allclose(raw, expected, atol=1e-3 * float(np.abs(expected).max()))
    emb = load_embedder("face-mobileface")
    assert emb.size_px == 112 and emb.dimension == 256
    out = emb.embed_aligned(crop)
    assert abs(float(np.linalg.norm(out)) - 1) < 1e-5
