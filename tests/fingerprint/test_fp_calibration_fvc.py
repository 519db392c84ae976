"""The shipped threshold is the one the calibration script derives from real FVC2002 impostors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fingerprints"

# extracting the 80 prints takes about 6 s on one core
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DATA / "fvc2002_db1_101").is_dir(),
                                 reason=f"FVC2002 evaluation data not found under {DATA}")]


@pytest.fixture(scope="module")
def scores():
    from models.fingerprint.train_calibration import load_cylinders, score_pairs

    return score_pairs(load_cylinders(DATA))


def test_committed_threshold_is_reproduced_from_the_real_impostors(scores):
    from edge.fingerprint.engine import FingerprintEngine
    from models.fingerprint.train_calibration import record

    cal, rec = record(scores)
    assert cal.impostor_pairs == sum(len(v) for v in scores.impostor.values()) == 1280
    assert FingerprintEngine.from_models().threshold == pytest.approx(rec["shipped"]["threshold"], abs=2e-4)


def test_threshold_fitted_on_one_sensor_holds_on_the_other(scores):
    """Fitted on DB1 alone, no DB3 impostor is accepted, and the other way round."""
    from models.fingerprint.train_calibration import fit

    for fit_db, test_db in (("db1", "db3"), ("db3", "db1")):
        thr = fit(scores.impostor[fit_db]).threshold_for(0.0005)
        assert not (scores.impostor[test_db] >= thr).any()
        assert thr >= scores.impostor[fit_db].max()
        # and it keeps most genuine pairs: the synthetic calibration lost 11 % and 20 %
        assert float((scores.genuine[test_db] < thr).mean()) < 0.15
    assert np.median(scores.genuine["db1"]) > 2 * scores.impostor["db1"].max()
