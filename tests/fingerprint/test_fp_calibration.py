import numpy as np
import pytest

from edge.fingerprint.calibration import Calibration
from edge.fingerprint.errors import CalibrationError


def test_threshold_gives_the_target_false_match_rate():
    scores = np.arange(100_000) / 100_000.0  # uniform impostor scores
    cal = Calibration.from_impostor_scores(scores)
    thr = cal.threshold_for(0.0005)
    assert (scores >= thr).mean() <= 0.0005
    assert (scores >= thr - 2e-5).mean() > 0.0005  # and it is the lowest such threshold
    assert cal.fmr_at(thr) <= 0.0005


def test_too_few_impostors_for_the_target_is_an_error():
    cal = Calibration.from_impostor_scores(np.random.default_rng(0).random(1000))
    with pytest.raises(CalibrationError, match="below what 1000 impostor pairs resolve"):
        cal.threshold_for(0.0005)
    with pytest.raises(CalibrationError):
        cal.threshold_for(1.5)


def test_file_round_trip(tmp_path):
    cal = Calibration.from_impostor_scores(np.random.default_rng(1).random(50_000))
    path = tmp_path / "cal.json"
    path.write_text(cal.to_file(source="test").model_dump_json(), encoding="utf-8")
    back = Calibration.load(path)
    assert back.threshold_for(0.0005) == pytest.approx(cal.threshold_for(0.0005), abs=1e-6)


def test_committed_calibration_resolves_the_default_target():
    """The gate refuses to start if the shipped calibration cannot give the 0.05 % threshold."""
    from edge.fingerprint.engine import FingerprintEngine

    engine = FingerprintEngine.from_models()
    assert 0 < engine.threshold < 1
    assert engine.calibration.impostor_pairs >= 3 / 0.0005


def test_a_tampered_calibration_stops_the_engine(tmp_path):
    """A changed threshold file must never load: it decides who crosses the border."""
    import shutil

    from edge.fingerprint.engine import FingerprintEngine
    from edge.modelstore import ModelChecksumMismatch, default_models_dir

    shutil.copytree(default_models_dir() / "fingerprint", tmp_path / "fingerprint",
                    ignore=shutil.ignore_patterns("*.onnx", "__pycache__"))
    cal = tmp_path / "fingerprint" / "mcc_calibration.json"
    cal.write_text(cal.read_text(encoding="utf-8").replace("0.0", "0.1", 1), encoding="utf-8")
    with pytest.raises(ModelChecksumMismatch, match="fingerprint-mcc-calibration"):
        FingerprintEngine.from_models(tmp_path)
