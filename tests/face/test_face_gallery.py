"""1:N search: exact top-k, batches, and the coarse index on a large gallery."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edge.face import Gallery


def _unit(rng, n, d=128):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_top_k_is_sorted_and_finds_the_enrolled_identity():
    rng = np.random.default_rng(0)
    vecs = _unit(rng, 500)
    g = Gallery()
    g.add_many([f"id{i}" for i in range(500)], vecs)
    probe = vecs[123] + 0.3 * _unit(rng, 1)[0]
    hits = g.search(probe, k=5)
    assert hits[0].key == "id123"
    assert len(hits) == 5
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_batch_search_equals_single_searches_and_k_is_capped():
    rng = np.random.default_rng(1)
    g = Gallery()
    for i, v in enumerate(_unit(rng, 3)):
        g.add(f"p{i}", v)
    probes = _unit(rng, 4)
    batch = g.search_batch(probes, k=10)
    assert [len(r) for r in batch] == [3, 3, 3, 3]
    single = g.search(probes[2], k=10)
    assert [h.key for h in batch[2]] == [h.key for h in single]
    assert [h.score for h in batch[2]] == pytest.approx([h.score for h in single], abs=1e-6)


def test_empty_gallery_and_bad_shapes():
    g = Gallery()
    assert g.search(np.ones(128), k=3) == []
    with pytest.raises(ValueError):
        g.add_many(["a"], np.ones((1, 64)))
    with pytest.raises(ValueError):
        g.add_many(["a", "b"], np.ones((1, 128)))


def test_indexed_search_finds_near_duplicates_in_a_large_gallery():
    rng = np.random.default_rng(2)
    n = 10_000
    # Clustered data, like faces: 2,000 identities with 10 samples each.
    centres = _unit(rng, n // 10)
    vecs = np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(n, 128)).astype(np.float32)
    g = Gallery(index_above=5_000, cells=128, probe_cells=12)
    g.add_many([f"id{i // 10}" for i in range(n)], vecs)
    probes = centres[:50] + 0.05 * rng.normal(size=(50, 128)).astype(np.float32)
    found = sum(g.search(p, k=1)[0].key == f"id{i}" for i, p in enumerate(probes))
    assert found >= 48
