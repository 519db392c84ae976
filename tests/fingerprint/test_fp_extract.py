import numpy as np
import pytest

from edge.fingerprint import mcc
from edge.fingerprint.errors import CaptureRefused
from edge.fingerprint.extract import extract, extract_features
from edge.fingerprint.template import BIFURCATION, ENDING
from simulators.fingerprints import synthetic_finger


def test_a_good_press_gives_a_usable_template(prints):
    result = extract_features(prints["T-alice"][0])
    t = result.template
    assert result.quality.is_acceptable and result.quality.score >= 60
    assert 15 <= len(t) <= 80
    h, w = prints["T-alice"][0].shape
    assert (t.width, t.height) == (w, h)
    assert ((t.xy >= 0) & (t.xy < [w, h])).all()
    assert ((t.angle >= 0) & (t.angle < 2 * np.pi)).all()
    assert set(np.unique(t.kind)) == {ENDING, BIFURCATION}
    assert ((t.quality >= 1) & (t.quality <= 100)).all()


def test_minutiae_follow_the_finger_when_it_moves():
    """Minutiae must be a property of the finger: shifting the image shifts them, no more."""
    img = synthetic_finger("T-shift", 2).impression(0)
    shifted = np.full_like(img, int(np.median(img[:5])))
    shifted[:, 12:] = img[:, :-12]
    a, b = extract(img), extract(shifted)
    moved = a.xy + [12, 0]
    d = np.sqrt(((moved[:, None] - b.xy[None]) ** 2).sum(-1)).min(1)
    inside = (a.xy[:, 0] > 40) & (a.xy[:, 0] < img.shape[1] - 60)
    assert (d[inside] < 3).mean() > 0.8


@pytest.mark.parametrize("quality, reason", [("poor", "small_area"), ("none", "no_finger")])
def test_a_bad_press_is_refused_with_its_reason(quality, reason):
    img = synthetic_finger("T-alice", 2).impression(7, quality=quality)
    with pytest.raises(CaptureRefused) as err:
        extract(img)
    assert err.value.reason == reason
    assert reason in str(err.value)


def test_refusal_is_a_value_error_for_callers_that_catch_those(prints):
    with pytest.raises(ValueError):
        extract(np.full((300, 300), 230, np.uint8))


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 3), np.uint8), np.zeros((50, 50), np.float32)])
def test_wrong_image_types_are_rejected(bad):
    with pytest.raises(ValueError, match="2-D uint8"):
        extract_features(bad)


def test_same_finger_outscores_other_fingers(templates):
    alice, bob = templates["T-alice"], templates["T-bob"]
    genuine = [mcc.match(alice[0], alice[1]), mcc.match(alice[0], alice[2]), mcc.match(bob[0], bob[1])]
    impostor = [mcc.match(a, b) for a in alice for b in bob]
    assert min(genuine) > 2 * max(impostor)
