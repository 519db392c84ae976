"""The TFJS-graph-to-ONNX rebuild in models/face/convert_human_models.py, checked without
TensorFlow: a small graph with every op kind the converted embedders use (NHWC convolutions with
SAME and VALID padding, an explicit Pad, depthwise convolution, PReLU as Max/Min/Mul, fused
MatMul with bias and Relu, a global mean, an NHWC flatten) runs in onnxruntime and is compared
with a numpy implementation of the TensorFlow semantics. Without this test a wrong weight
transpose or a flatten in NCHW order would only show as a worse score in the bench."""

from __future__ import annotations

import base64
import importlib
import json
import numpy as np
import onnxruntime as ort
import pytest

@pytest.fixture(scope="module")
def converter():
    return importlib.import_module("models.face.convert_human_models")


def _s(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def _conv_attr(stride: int, padding: str) -> dict:
    return {"strides": {"list": {"i": ["1", str(stride), str(stride), "1"]}},
            "dilations": {"list": {"i": ["1", "1", "1", "1"]}}, "padding": _s(padding),
            "data_format": _s("NHWC")}


def _graph(rng, head: str):
    """(model.json dict, weights bin, weights by name) of a small TFJS graph model."""
    w = {
        "k1": rng.normal(size=(3, 3, 3, 4)).astype(np.float32) * 0.3,
        "pads": np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32),
        "dw": rng.normal(size=(3, 3, 4, 1)).astype(np.float32) * 0.3,
        "zero": np.array(0.0, np.float32),
        "gamma": rng.uniform(0.1, 0.5, size=4).astype(np.float32),
        "scale": np.array([0.5], np.float32),
        "k2": rng.normal(size=(1, 1, 4, 5)).astype(np.float32) * 0.3,
        "b2": rng.normal(size=5).astype(np.float32),
        "axes": np.array([1, 2], np.int32),
        "shape": np.array([-1, 4 * 4 * 5], np.int32),
    }
    w["fc"] = rng.normal(size=(5 if head == "mean" else 80, 6)).astype(np.float32)
    w["fcb"] = rng.normal(size=6).astype(np.float32)
    const = lambda name: {"name": name, "op": "Const", "attr": {}}
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {}},
        *(const(n) for n in w),
        {"name": "scaled", "op": "Mul", "input": ["x", "scale"]},
        {"name": "c1", "op": "Conv2D", "input": ["scaled", "k1"], "attr": _conv_attr(2, "SAME")},
        {"name": "p", "op": "Pad", "input": ["c1", "pads"]},
        {"name": "d", "op": "DepthwiseConv2dNative", "input": ["p", "dw"], "attr": _conv_attr(1, "VALID")},
        {"name": "pos", "op": "Maximum", "input": ["zero", "d"]},
        {"name": "neg", "op": "Minimum", "input": ["zero", "d"]},
        {"name": "negs", "op": "Mul", "input": ["gamma", "neg"]},
        {"name": "prelu", "op": "AddV2", "input": ["pos", "negs"]},
        {"name": "c2", "op": "_FusedConv2D", "input": ["prelu", "k2", "b2"],
         "attr": {**_conv_attr(2, "SAME"), "fused_ops": {"list": {"s": [_s("BiasAdd")["s"], _s("Relu")["s"]]}}}},
    ]
    if head == "mean":
        nodes.append({"name": "pool", "op": "Mean", "input": ["c2", "axes"], "attr": {"keep_dims": {"b": False}}})
    else:
        nodes.append({"name": "pool", "op": "Reshape", "input": ["c2", "shape"]})
    nodes.append({"name": "out", "op": "_FusedMatMul", "input": ["pool", "fc", "fcb"],
                  "attr": {"fused_ops": {"list": {"s": [_s("BiasAdd")["s"]]}}}})
    specs, blob = [], b""
    for name, value in w.items():
        dtype = "int32" if value.dtype == np.int32 else "float32"
        if name == "k1":  # one weight stored as float16, as faceres ships
            specs.append({"name": name, "shape": list(value.shape), "dtype": dtype,
                          "quantization": {"dtype": "float16", "original_dtype": "float32"}})
            w[name] = value.astype(np.float16).astype(np.float32)
            blob += value.astype(np.float16).tobytes()
        else:
            specs.append({"name": name, "shape": list(value.shape), "dtype": dtype})
            blob += value.tobytes()
    spec = {"format": "graph-model", "modelTopology": {"node": nodes},
            "weightsManifest": [{"paths": ["m.bin"], "weights": specs}]}
    return spec, blob, w


def _tf_reference(x: np.ndarray, w: dict, head: str) -> np.ndarray:
    """The same graph in numpy, NHWC, as TensorFlow defines each op."""
    def conv(inp, k, stride, same, depthwise=False):
        kh, kw = k.shape[:2]
        n, h, wd, c = inp.shape
        if same:
            oh, ow = -(-h // stride), -(-wd // stride)
            ph, pw = max((oh - 1) * stride + kh - h, 0), max((ow - 1) * stride + kw - wd, 0)
            inp = np.pad(inp, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
        h, wd = inp.shape[1:3]
        oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
        out = np.zeros((n, oh, ow, c if depthwise else k.shape[3]), np.float64)
        for i in range(oh):
            for j in range(ow):
                patch = inp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
                if depthwise:
                    out[:, i, j, :] = np.einsum("nhwc,hwc->nc", patch, k[:, :, :, 0])
                else:
                    out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, k)
        return out

    y = conv(x * 0.5, w["k1"], 2, True)
    y = np.pad(y, w["pads"])
    y = conv(y, w["dw"], 1, False, depthwise=True)
    y = np.maximum(0, y) + w["gamma"] * np.minimum(0, y)
    y = np.maximum(conv(y, w["k2"], 2, True) + w["b2"], 0)
    y = y.mean(axis=(1, 2)) if head == "mean" else y.reshape(len(y), -1)
    return y @ w["fc"] + w["fcb"]


@pytest.mark.parametrize("head", ["mean", "flatten"])
def test_rebuilt_graph_computes_what_tensorflow_defines(converter, head):
    rng = np.random.default_rng(1)
    spec, blob, weights = _graph(rng, head)
    target = converter.Target("m", "out", 16, "m.onnx", "m.manifest.json")
    model = converter.convert(json.dumps(spec).encode(), blob, target)
    x = rng.uniform(0, 255, size=(2, 16, 16, 3)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ours = sess.run(None, {"input": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
    expected = _tf_reference(x.astype(np.float64), weights, head)
    assert ours.shape == (2, 6)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())


def test_an_op_it_does_not_know_is_refused_by_name(converter):
    spec = {"modelTopology": {"node": [{"name": "x", "op": "Placeholder"},
                                       {"name": "y", "op": "Erf", "input": ["x"]}]},
            "weightsManifest": [{"paths": ["m.bin"], "weights": []}]}
    target = converter.Target("m", "y", 16, "m.onnx", "m.manifest.json")
    with pytest.raises(converter.ConversionError, match="y: op Erf"):
        converter.convert(json.dumps(spec).encode(), b"", target)


def test_weights_that_do_not_fill_the_file_are_refused(converter):
    rng = np.random.default_rng(0)
    spec, blob, _ = _graph(rng, "mean")
    target = converter.Target("m", "out", 16, "m.onnx", "m.manifest.json")
    with pytest.raises(converter.ConversionError, match="bytes"):
        converter.convert(json.dumps(spec).encode(), blob + b"\0\0\0\0", target)
