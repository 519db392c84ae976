"""The recogniser's training lines (models/mrz/strips.py): runs stay reproducible, and the
confusable-character lines are what they claim. The strips module needs no PyTorch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from edge.mrz.synth import font_paths

pytestmark = pytest.mark.skipif(not font_paths(), reason="OCR-B font missing: apt-get install fonts-ocr-b")
STRIPS_PY = Path(__file__).resolve().parents[2] / "models" / "mrz" / "strips.py"


@pytest.fixture(scope="module")
def strips():
    spec = importlib.util.spec_from_file_location("mrz_training_strips", STRIPS_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_confusable_lines_a_seed_draws_the_lines_it_drew_for_the_committed_runs(strips) -> None:
    """The manifest's runs are reproducible only if a seed still renders the same text."""
    texts = [text for _, text in strips.generate_strips(1_000_123, 3)]
    assert texts == [
        "LUV8Q5P<<2SGP1210277M2804246<<<<<<<<<<<<<<<4",
        "K2A4GUSR4UHATXTP17R<DDUV2<JK<X3AXQ1<A0G8FC<6",
        "I87C5<4DP<NKBAL32ZIRLQCLEITG<<2UV7HIL8OLDS7O",
    ]


def test_confusable_lines_are_dense_in_one_group_of_look_alikes(strips) -> None:
    for strip, text in strips.generate_strips(1_000_124, 6, confusable_share=1.0):
        assert len(text) in (30, 36, 44) and strip.shape[0] == 32
        densest = max(sum(c in group for c in text) for group in strips.CONFUSABLE)
        assert densest >= 0.4 * len(text)
