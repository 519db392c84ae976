import numpy as np

from edge.fingerprint import mcc
from edge.fingerprint.search import Gallery, summary_vector


def test_search_finds_the_enrolled_finger(templates):
    gallery = Gallery()
    for person, tpls in templates.items():
        gallery.add(person, tpls[0])
    for person, tpls in templates.items():
        best_id, best_score = gallery.search(tpls[1], top=1)[0]
        assert best_id == person
        assert best_score > 0


def test_prefilter_is_one_row_per_entry_and_placement_invariant(templates):
    gallery = Gallery()
    for i, t in enumerate(templates["T-alice"] + templates["T-bob"]):
        gallery.add(str(i), t)
    coarse = gallery.prefilter(templates["T-alice"][0])
    assert coarse.shape == (len(gallery),)
    assert np.argmax(coarse) == 0 and coarse[0] == np.float32(coarse.max())
    v = summary_vector(mcc.cylinders(templates["T-bob"][0]))
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_empty_gallery_returns_nothing(templates):
    assert Gallery().search(templates["T-alice"][0]) == []


def test_engine_search_ranks_the_owner_first_above_threshold(templates):
    from edge.fingerprint import FingerprintEngine

    engine = FingerprintEngine.from_models()
    gallery = engine.new_gallery()
    for person, tpls in templates.items():
        gallery.add(person, tpls[0])
    (best, score), *_ = engine.search(templates["T-bob"][2], gallery)
    assert best == "T-bob" and score >= engine.threshold
