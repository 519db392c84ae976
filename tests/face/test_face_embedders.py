"""The embedders by name (the shipped pipeline by default, each embedder selectable), the model tag every template
carries, galleries that refuse mixed models, and the TensorFlow-free steps of the MobileFaceNet
conversion (checked on small graphs against onnxruntime)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edge.face import FaceEngine, Gallery, ModelMismatch
from edge.face.embedder import OnnxEmbedder
from edge.face.engine import EMBEDDER_MODEL

MODELS = Path(__file__).resolve().parents[2] / "models" / "face"
GENUINE = [("obama", "obama2"), ("obama", "obama3"), ("obama2", "obama3")]
IMPOSTOR = [("obama", "biden"), ("obama2", "astronaut"), ("biden", "astronaut")]


@pytest.fixture(scope="module")
def sface_engine() -> FaceEngine:
    return FaceEngine.from_models(embedder_model="face-sface")


@pytest.fixture(scope="module")
def converter():
    spec = importlib.util.spec_from_file_location("convert_mobilefacenet", MODELS / "convert_mobilefacenet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_is_the_shipped_pipeline_and_its_templates_say_so(engine, portraits):
    assert EMBEDDER_MODEL == engine.embedder_name == "face-gate"
    template = engine.template(portraits["obama"])
    parts = getattr(engine.embedder, "parts", (engine.embedder,))
    assert engine.dimension == template.embedding.shape[0] == sum(p.dimension for p in parts)
    assert abs(float(np.linalg.norm(template.embedding)) - 1) < 1e-5
    assert template.model_tag == f"face-gate@{engine.embedder_version}"


def test_mobilefacenet_stays_selectable_with_192_values(portraits):
    mfn = FaceEngine.from_models(embedder_model="face-mobilefacenet")
    template = mfn.template(portraits["obama"])
    assert mfn.dimension == template.embedding.shape[0] == 192
    assert template.model_tag == "face-mobilefacenet@sirius-ai-tflite-fp32"


@pytest.mark.parametrize("which", ["engine", "sface_engine"])
def test_each_embedder_separates_the_test_portraits_at_its_own_threshold(which, portraits, request):
    eng = request.getfixturevalue(which)
    t = {name: eng.template(img) for name, img in portraits.items()}
    genuine = [eng.verify(t[a], t[b]).score for a, b in GENUINE]
    impostor = [eng.verify(t[a], t[b]).score for a, b in IMPOSTOR]
    assert min(genuine) > eng.threshold > max(impostor), (genuine, impostor, eng.threshold)


def test_sface_stays_selectable_and_its_templates_say_so(sface_engine, portraits):
    template = sface_engine.template(portraits["biden"])
    assert sface_engine.dimension == template.embedding.shape[0] == 128
    assert (template.model, template.model_version) == ("face-sface", "2021dec-int8-static")


def test_verify_refuses_a_template_or_embedding_of_another_model(engine, sface_engine, portraits):
    probe = engine.template(portraits["obama2"])
    with pytest.raises(ModelMismatch, match="face-sface"):
        engine.verify(probe, sface_engine.template(portraits["obama"]))
    with pytest.raises(ModelMismatch, match="128"):
        engine.verify(probe, sface_engine.embed(portraits["obama"]))
    assert engine.verify(probe, engine.embed(portraits["obama"])).match


def test_embedder_reads_its_dimension_from_the_model_and_checks_the_crop():
    class FakeSession:
        def get_inputs(self):
            return [type("I", (), {"name": "input"})()]

        def get_outputs(self):
            return [type("O", (), {"shape": ["N", 7]})()]

        def run(self, _, feeds):
            assert feeds["input"].shape == (1, 3, 112, 112) and feeds["input"].dtype == np.float32
            # RGB order: the first channel is the crop's last (BGR) channel.
            assert feeds["input"][0, 0, 0, 0] == 3 and feeds["input"][0, 2, 0, 0] == 1
            return [np.arange(7, dtype=np.float32)[None] + 1]

    emb = OnnxEmbedder(FakeSession())
    assert emb.dimension == 7
    crop = np.zeros((112, 112, 3), np.uint8)
    crop[..., 0], crop[..., 2] = 1, 3
    out = emb.embed_aligned(crop)
    assert out.shape == (7,) and abs(float(np.linalg.norm(out)) - 1) < 1e-6
    with pytest.raises(ValueError):
        emb.embed_aligned(np.zeros((96, 96, 3), np.uint8))


# -- galleries never mix models ---------------------------------------------------------------

def test_gallery_for_an_engine_takes_its_dimension_and_model(engine, sface_engine, portraits):
    g = Gallery.for_engine(engine)
    assert g.dimension == engine.dimension and g.model == engine.model_tag
    g.add_template("obama", engine.template(portraits["obama"]))
    g.add_template("biden", engine.template(portraits["biden"]))
    assert g.search_template(engine.template(portraits["obama2"]), k=1)[0].key == "obama"
    other = sface_engine.template(portraits["obama2"])
    with pytest.raises(ModelMismatch, match="face-sface"):
        g.search_template(other)
    with pytest.raises(ModelMismatch):
        g.add_template("x", other)
    assert len(g) == 2


def test_an_untagged_gallery_adopts_the_first_model_and_then_refuses_others():
    g = Gallery(4)
    v = np.eye(4, dtype=np.float32)
    g.add("a", v[0], model="m@1")
    assert g.model == "m@1"
    g.add("b", v[1], model="m@1")
    with pytest.raises(ModelMismatch):
        g.add("c", v[2], model="m@2")
    untagged = Gallery(4)
    untagged.add("a", v[0])
    with pytest.raises(ModelMismatch):
        untagged.add("b", v[1], model="m@1")


def test_gallery_refuses_a_probe_of_another_dimension():
    g = Gallery(192)
    g.add("a", np.ones(192, np.float32))
    with pytest.raises(ValueError, match="192"):
        g.search(np.ones(128, np.float32))
    with pytest.raises(ValueError):
        g.search_batch(np.ones((3, 128), np.float32))  # 384 values: also not 2 x 192


# -- the conversion's graph rewrites (no TensorFlow needed) -----------------------------------

def _tflite_like_graph(batch: int = 2) -> onnx.ModelProto:
    """Transpose NHWC->NCHW, a 1x1 conv, tf2onnx's five-op PRelu, and a Reshape with the
    batch baked in, like MobileFaceNet's head."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 1, 1)).astype(np.float32), "w")
    half_slope = numpy_helper.from_array(rng.uniform(0, 0.2, size=(4, 1, 1)).astype(np.float32), "c")
    shape = numpy_helper.from_array(np.array([batch, 4 * 2 * 2], np.int64), "shape")
    nodes = [
        helper.make_node("Transpose", ["input"], ["x_nchw"], perm=[0, 3, 1, 2], name="t"),
        helper.make_node("Conv", ["x_nchw", "w"], ["x"], name="conv"),
        helper.make_node("Relu", ["x"], ["pos"], name="relu"),
        helper.make_node("Abs", ["x"], ["absx"], name="abs"),
        helper.make_node("Sub", ["x", "absx"], ["diff"], name="sub"),
        helper.make_node("Mul", ["diff", "c"], ["neg"], name="mul"),
        helper.make_node("Add", ["pos", "neg"], ["y"], name="add"),
        helper.make_node("Reshape", ["y", "shape"], ["embeddings"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 2, 2, 3])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, [batch, 16])],
        [w, half_slope, shape])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_conversion_rewrites_keep_the_function_and_free_the_batch(converter):
    original = _tflite_like_graph()
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 2, 2, 3)).astype(np.float32)
    expected = _run(original, ((pixels - 127.5) / 128).astype(np.float32))
    model = converter.make_batch_dynamic(_tflite_like_graph())
    model = converter.nchw_rgb_255_input(model)
    assert converter.rewrite_prelu(model) == 1
    model = converter.canonical_names(model)
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    # PRelu as two depthwise 1x1 convolutions (onnxruntime keeps them in its blocked layout).
    assert "Abs" not in ops and "Transpose" not in ops and ops.count("Conv") == 3
    nchw = pixels.transpose(0, 3, 1, 2).copy()
    np.testing.assert_allclose(_run(model, nchw), expected, atol=1e-5)
    np.testing.assert_allclose(_run(model, nchw[:1]), expected[:1], atol=1e-5)


def test_canonical_names_do_not_depend_on_the_converter_names(converter):
    a, b = _tflite_like_graph(), _tflite_like_graph()
    # What a second tf2onnx run does: other counter names, in another order.
    for k, init in enumerate(b.graph.initializer):
        old = init.name
        init.name = f"const_fold_opt__{900 - k}"
        for node in b.graph.node:
            node.input[:] = [init.name if i == old else i for i in node.input]
    inits = list(b.graph.initializer)[::-1]
    del b.graph.initializer[:]
    b.graph.initializer.extend(inits)
    assert a.SerializeToString() != b.SerializeToString()
    assert converter.canonical_names(a).SerializeToString() == converter.canonical_names(b).SerializeToString()


def test_conversion_refuses_a_reshape_without_the_baked_batch(converter):
    with pytest.raises(converter.ConversionError, match="batch"):
        converter.make_batch_dynamic(_tflite_like_graph(batch=3))


def test_conversion_refuses_a_tflite_file_with_another_digest(converter, tmp_path):
    fake = tmp_path / "MobileFaceNet.tflite"
    fake.write_bytes(b"not the model")
    with pytest.raises(converter.ConversionError, match="sha256"):
        converter.tflite_bytes(fake)
