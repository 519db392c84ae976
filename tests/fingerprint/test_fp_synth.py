import numpy as np

from simulators.fingerprints import PATTERNS, finger_seed, impression, synthetic_finger


def test_a_traveller_always_gets_the_same_finger():
    """The demo and the tests rely on a person id reproducing the same prints in every run."""
    a = impression("T-carol", 1)
    synthetic_finger.cache_clear()
    b = impression("T-carol", 1)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.ndim == 2


def test_impressions_differ_but_fingers_differ_more():
    f = synthetic_finger("T-alice", 2)
    one, two = f.impression(0).astype(float), f.impression(1).astype(float)
    assert np.abs(one - two).mean() > 5  # placement, pressure and noise change every press
    assert f.pattern in PATTERNS
    assert finger_seed("T-alice", 2) != finger_seed("T-alice", 3) != finger_seed("T-bob", 2)


def test_ridge_period_is_realistic():
    f = synthetic_finger("T-bob", 2)
    row = f.ridges[f.ridges.shape[0] // 2]
    crossings = np.count_nonzero(np.diff(np.sign(row)) != 0)
    period = 2 * len(row) / max(crossings, 1)
    assert 6 <= period <= 14  # pixels at 500 ppi
