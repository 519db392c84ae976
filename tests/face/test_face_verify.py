"""Threshold calibration from a target FMR, error rates and the manifest's operating points."""

from __future__ import annotations

import numpy as np
import pytest

from edge.face import CalibrationMissing
from edge.face.verify import (
    cosine,
    decide,
    equal_error_rate,
    error_rates,
    operating_threshold,
    threshold_for_fmr,
)


@pytest.mark.parametrize("n, fmr, allowed", [(19000, 0.0005, 9), (19000, 0.001, 19), (1000, 0.0005, 0), (10, 0.5, 5)])
def test_threshold_lets_through_at_most_the_target_share_of_impostors(n, fmr, allowed):
    rng = np.random.default_rng(1)
    impostor = rng.normal(0, 0.1, n)
    t = threshold_for_fmr(impostor, fmr)
    assert int(np.sum(impostor >= t)) == allowed
    # The next lower observed score would let one more through: the threshold is the tightest.
    below = np.sort(impostor)[::-1][allowed]
    assert t > below and np.nextafter(below, -np.inf) < t


def test_ties_at_the_threshold_are_not_let_through():
    impostor = np.array([0.1, 0.5, 0.5, 0.2])
    t = threshold_for_fmr(impostor, 0.25)  # one of four may pass, but the top two tie
    assert np.sum(impostor >= t) <= 1


def test_error_rates_and_eer_on_separable_and_overlapping_scores():
    genuine = np.array([0.6, 0.7, 0.8, 0.9])
    impostor = np.array([0.0, 0.1, 0.2, 0.65])
    assert error_rates(genuine, impostor, 0.5) == (0.25, 0.0)
    assert error_rates(genuine, impostor, 0.75) == (0.0, 0.5)
    eer, _ = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(0.25)
    eer0, _ = equal_error_rate(np.array([0.8, 0.9]), np.array([0.1, 0.2]))
    assert eer0 == 0.0


def test_operating_threshold_is_read_by_fmr_and_missing_ones_are_named():
    points = {"0.0005": 0.37, "0.001": 0.35}
    assert operating_threshold(points, 0.0005) == 0.37
    with pytest.raises(CalibrationMissing, match="0.01"):
        operating_threshold(points, 0.01)


def test_decision_at_the_threshold_is_a_match():
    assert decide(0.37, 0.37, 0.0005).match
    assert not decide(0.3699, 0.37, 0.0005).match


def test_cosine_is_scale_free():
    a = np.array([1.0, 2.0, 3.0])
    assert cosine(a, 5 * a) == pytest.approx(1.0)
    assert cosine(a, -a) == pytest.approx(-1.0)
