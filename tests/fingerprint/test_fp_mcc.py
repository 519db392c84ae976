import numpy as np
import pytest

from edge.fingerprint import mcc
from edge.fingerprint.template import Template


def _random_template(n: int, seed: int, width: int = 380, height: int = 380) -> Template:
    rng = np.random.default_rng(seed)
    return Template.from_arrays(rng.uniform(40, width - 40, (n, 2)), rng.uniform(0, 2 * np.pi, n),
                                rng.integers(0, 2, n), width=width, height=height)


def _moved(t: Template, angle: float, shift: tuple[float, float], jitter: float = 0.0, seed: int = 0) -> Template:
    c, s = np.cos(angle), np.sin(angle)
    centre = np.array([t.width / 2, t.height / 2])
    xy = (t.xy - centre) @ np.array([[c, s], [-s, c]]) + centre + shift
    rng = np.random.default_rng(seed)
    xy = xy + rng.normal(0, jitter, xy.shape)
    return Template.from_arrays(xy, t.angle + angle, t.kind, t.quality, width=t.width, height=t.height)


def test_identical_templates_score_near_one():
    t = _random_template(40, 1)
    assert mcc.match(t, t) > 0.9


@pytest.mark.parametrize("angle, shift", [(0.4, (20, -15)), (-0.6, (-30, 10)), (np.pi / 3, (0, 0))])
def test_score_is_invariant_to_placement(angle, shift):
    """The finger lands rotated (up to 60 degrees on a gate platen) and shifted on every press."""
    t = _random_template(40, 2, 500, 500)
    moved = _moved(t, angle, shift, jitter=1.5)
    assert mcc.match(t, moved) > 0.6 * mcc.match(t, t)


def test_minutia_order_does_not_matter():
    t = _random_template(35, 3)
    perm = np.random.default_rng(0).permutation(len(t))
    shuffled = Template.from_arrays(t.xy[perm], t.angle[perm], t.kind[perm], t.quality[perm],
                                    width=t.width, height=t.height)
    assert mcc.match(t, shuffled) == pytest.approx(mcc.match(t, t), rel=1e-3)  # ties may break differently


def test_different_fingers_score_far_below_the_same_finger():
    genuine = [mcc.match(_random_template(40, s), _moved(_random_template(40, s), 0.2, (5, 5), 2.0, s))
               for s in range(5)]
    impostor = [mcc.match(_random_template(40, s), _random_template(40, s + 100)) for s in range(5)]
    assert min(genuine) > 3 * max(impostor)


def test_upside_down_finger_does_not_match():
    """Minutiae turned by more than 90 degrees never pair (MCC's max_angle): a print presented
    upside down is a different presentation, not a match."""
    t = _random_template(40, 2, 500, 500)
    assert mcc.match(t, _moved(t, np.pi, (0, 0))) < 0.1


def test_empty_and_tiny_templates_score_zero():
    empty = Template.from_arrays(np.zeros((0, 2)), np.zeros(0), width=300, height=300)
    one = _random_template(1, 4)
    assert mcc.match(empty, _random_template(30, 5)) == 0.0
    assert mcc.match(one, _random_template(30, 5)) == 0.0


def test_cylinders_are_cached_on_the_template():
    t = _random_template(30, 6)
    assert mcc.cylinders(t) is mcc.cylinders(t)


def test_local_similarity_is_symmetric():
    a, b = mcc.cylinders(_random_template(30, 7)), mcc.cylinders(_random_template(30, 8))
    np.testing.assert_allclose(mcc.local_similarity(a, b), mcc.local_similarity(b, a).T, atol=1e-5)
