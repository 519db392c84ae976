"""Burst capture: the best acceptable frame is kept; a burst with none is refused with reasons."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.face import CaptureRefused
from edge.face.capture import best_observation, capture_best, observe


def test_best_frame_is_the_sharp_one(engine, portraits):
    good = portraits["obama"]
    burst = [cv2.GaussianBlur(good, (0, 0), 3.0), np.full_like(good, 90), good, cv2.GaussianBlur(good, (0, 0), 1.2)]
    template, observations = capture_best(engine, burst)
    assert observations[1] is None  # no face in the grey frame
    assert template.quality.is_acceptable
    best = best_observation(observations)
    assert best.index == 2
    direct = engine.embed(good)
    assert float(template.embedding @ direct) > 0.999


def test_a_burst_without_an_acceptable_frame_says_why(engine, portraits):
    dark = cv2.convertScaleAbs(portraits["biden"], alpha=0.25)
    observations = [observe(engine, dark, k) for k in range(2)]
    with pytest.raises(CaptureRefused) as info:
        best_observation(observations)
    assert info.value.reasons[0] == "too_dark"
    with pytest.raises(CaptureRefused) as none:
        best_observation([None, None])
    assert none.value.reasons == ("no_face",)
