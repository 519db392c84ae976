import numpy as np
import pytest

from edge.fingerprint.calibration import Calibration, TailModel, fmr_upper_bound
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


def test_tail_model_reaches_below_the_counted_resolution():
    """2,000 exponential impostor scores cannot count an FMR of 0.05 %; the fitted tail finds the
    true threshold of the law they were drawn from, and the counted curve alone refuses."""
    rng = np.random.default_rng(2)
    scale = 0.01
    truth = scale * np.log(1 / 0.0005)  # P(S >= t) = exp(-t / scale) = 0.0005
    found = []
    for seed in range(20):
        scores = np.random.default_rng(seed).exponential(scale, 2000)
        found.append(Calibration.from_impostor_scores(scores, tail_fraction=0.1).threshold_for(0.0005))
    assert np.median(found) == pytest.approx(truth, rel=0.08)
    with pytest.raises(CalibrationError, match="below what 2000 impostor pairs resolve"):
        Calibration.from_impostor_scores(rng.exponential(scale, 2000)).threshold_for(0.0005)


def test_tail_model_never_goes_below_the_highest_impostor_seen():
    scores = np.concatenate([np.random.default_rng(3).exponential(0.01, 1500), [0.5]])
    cal = Calibration.from_impostor_scores(scores, tail_fraction=0.1)
    assert cal.tail.threshold(0.0005) < 0.5  # the light tail alone would accept the outlier
    assert cal.threshold_for(0.0005) > 0.5


def test_tail_model_is_trusted_only_so_far_below_the_resolution():
    cal = Calibration.from_impostor_scores(np.random.default_rng(4).exponential(0.01, 1000),
                                           tail_fraction=0.1, max_extrapolation=10)
    cal.threshold_for(0.0005)  # 3/1000 / 6: allowed
    with pytest.raises(CalibrationError, match="tail model trusted 10x"):
        cal.threshold_for(0.0001)  # 3/1000 / 30: not


def test_tail_scale_bound_covers_the_truth_mostly():
    """The 95 % upper bound on the tail scale lies above the true scale in about 95 % of fits."""
    covered = [TailModel.fit(np.sort(np.random.default_rng(s).exponential(1.0, 1000)), 0.1).scale_upper(0.95) >= 1.0
               for s in range(200)]
    assert 0.9 <= np.mean(covered) <= 0.99


def test_fmr_upper_bound_is_the_rule_of_three_when_nothing_is_seen():
    assert fmr_upper_bound(0, 1280) == pytest.approx(3 / 1280, rel=0.01)
    assert fmr_upper_bound(0, 6000) <= 0.0005 < fmr_upper_bound(0, 5000)
    assert fmr_upper_bound(1, 2000) == pytest.approx(4.74 / 2000, rel=0.01)  # Poisson 95 % for one event


def test_file_round_trip_keeps_the_tail(tmp_path):
    cal = Calibration.from_impostor_scores(np.random.default_rng(5).exponential(0.01, 2000), tail_fraction=0.1)
    path = tmp_path / "cal.json"
    path.write_text(cal.to_file(source="test").model_dump_json(), encoding="utf-8")
    back = Calibration.load(path)
    assert back.tail == cal.tail
    assert back.threshold_for(0.0005) == pytest.approx(cal.threshold_for(0.0005), abs=1e-9)
    thr = back.threshold_for(0.0005)
    assert thr >= back.thresholds[-1]  # past every impostor seen: the tail model answers
    assert back.fmr_at(thr) <= 0.0005 * (1 + 1e-9)
    assert back.tail.fmr(back.tail.threshold(0.0005)) == pytest.approx(0.0005, rel=1e-9)


def test_committed_calibration_resolves_the_default_target():
    """The gate refuses to start if the shipped calibration cannot give the 0.05 % threshold."""
    from edge.fingerprint.engine import FingerprintEngine

    engine = FingerprintEngine.from_models()
    cal = engine.calibration
    assert 0 < engine.threshold < 1
    assert cal.min_fmr <= 0.0005 and cal.tail is not None
    # never below the highest real impostor score it was calibrated on (stored just past it)
    assert engine.threshold >= float(cal.thresholds[-1])


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
