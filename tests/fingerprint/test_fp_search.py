import numpy as np
import pytest

from edge.fingerprint import mcc, search
from edge.fingerprint.search import PER_ENTRY, Gallery, Projection
from edge.fingerprint.template import Template


def _random_template(n: int, seed: int, size: int = 420) -> Template:
    rng = np.random.default_rng(seed)
    return Template.from_arrays(rng.uniform(40, size - 40, (n, 2)), rng.uniform(0, 2 * np.pi, n),
                                width=size, height=size)


def _moved(t: Template, angle: float, shift: tuple[float, float]) -> Template:
    c, s = np.cos(angle), np.sin(angle)
    centre = np.array([t.width / 2, t.height / 2])
    xy = (t.xy - centre) @ np.array([[c, s], [-s, c]]) + centre + shift
    return Template.from_arrays(xy, t.angle + angle, t.kind, t.quality, width=t.width, height=t.height)


def test_search_finds_the_enrolled_finger(templates):
    gallery = Gallery()
    for person, tpls in templates.items():
        gallery.add(person, tpls[0])
    for person, tpls in templates.items():
        best_id, best_score = gallery.search(tpls[1], top=1)[0]
        assert best_id == person
        assert best_score > 0


def test_prefilter_ranks_the_same_finger_first_wherever_it_was_placed():
    """Among 60 other fingers, a rotated and shifted press of an enrolled one comes first."""
    gallery = Gallery()
    for i in range(60):
        gallery.add(f"other-{i}", _random_template(40, 100 + i))
    enrolled = _random_template(40, 7)
    gallery.add("owner", enrolled)
    for angle, shift in [(0.0, (0, 0)), (0.5, (25, -10)), (-0.8, (-20, 30))]:
        coarse = gallery.prefilter(_moved(enrolled, angle, shift))
        assert coarse.shape == (len(gallery),)
        assert int(np.argmax(coarse)) == len(gallery) - 1


def test_packed_prefilter_equals_the_per_entry_definition():
    """Blocked, slot-first storage is only a layout: each entry's score is still the mean of the
    TOP best probe cylinders' best match among that entry's cylinders."""
    rng = np.random.default_rng(0)
    rows = [rng.standard_normal((PER_ENTRY, 8)).astype(np.float32) for _ in range(11)]
    rows[4][10:] = 0  # a short entry, zero-padded
    probe = rng.standard_normal((PER_ENTRY, 8)).astype(np.float32)
    probe[20:] = 0  # padding rows of the probe take no part
    got = search.prefilter_scores(probe, search.pack(rows, chunk=3), top=5)
    want = [np.sort((probe[:20] @ r.T).max(axis=1))[-5:].mean() for r in rows]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_embedding_is_unit_rows_padded_and_keeps_the_central_cylinders():
    proj = Projection.load()
    big = mcc.cylinders(_random_template(80, 3, size=600))
    assert len(big) > PER_ENTRY
    e = proj.embed(big)
    assert e.shape == (PER_ENTRY, proj.dims)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    kept = np.argsort(((big.xy - big.xy.mean(0)) ** 2).sum(1), kind="stable")[:PER_ENTRY]
    direct = (big.values[np.sort(kept)] - proj.mean) @ proj.components
    np.testing.assert_allclose(e, direct / np.linalg.norm(direct, axis=1, keepdims=True), rtol=1e-4, atol=1e-5)
    small = mcc.cylinders(_random_template(12, 4))
    e = proj.embed(small)
    assert not e[len(small):].any() and np.all(np.linalg.norm(e[: len(small)], axis=1) > 0.99)


def test_removed_entries_are_no_longer_found(templates):
    gallery = Gallery()
    for person, tpls in templates.items():
        gallery.add(person, tpls[0])
    gallery.remove("T-bob")
    assert gallery.ids == ["T-alice"]
    assert [i for i, _ in gallery.search(templates["T-bob"][1])] == ["T-alice"]
    assert gallery.prefilter(templates["T-bob"][1]).shape == (1,)


def test_empty_gallery_returns_nothing(templates):
    assert Gallery().search(templates["T-alice"][0]) == []


def test_a_tampered_projection_is_refused(tmp_path):
    import shutil

    from edge.modelstore import ModelChecksumMismatch, default_models_dir

    shutil.copytree(default_models_dir() / "fingerprint", tmp_path / "fingerprint",
                    ignore=shutil.ignore_patterns("*.onnx", "__pycache__"))
    path = tmp_path / "fingerprint" / "mcc_projection.npz"
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelChecksumMismatch, match="fingerprint-mcc-projection"):
        Projection.load(tmp_path)


def test_engine_search_ranks_the_owner_first_above_threshold(templates):
    from edge.fingerprint import FingerprintEngine

    engine = FingerprintEngine.from_models()
    gallery = engine.new_gallery()
    for person, tpls in templates.items():
        gallery.add(person, tpls[0])
    (best, score), *_ = engine.search(templates["T-bob"][2], gallery)
    assert best == "T-bob" and score >= engine.threshold
