"""From line-recogniser frames to one row per character (edge.mrz.ctc), on hand-made frames."""

from __future__ import annotations

import numpy as np
import pytest

from edge.mrz.ctc import BLANK, best_path, character_rows, path_of_length
from edge.mrz.decode import ALPHABET

A, B_, FILLER = ALPHABET.index("A"), ALPHABET.index("B"), ALPHABET.index("<")


def frames(path: list[int], sure: float = 0.96) -> np.ndarray:
    """[T, 38] frames that each put *sure* on one class."""
    probs = np.full((len(path), BLANK + 1), (1 - sure) / BLANK)
    probs[np.arange(len(path)), path] = sure
    return probs


def text(chars: list[tuple[int, int]]) -> str:
    return "".join(ALPHABET[k] for k, _ in chars)


def test_best_path_merges_repeats_and_drops_blanks_at_each_character_s_peak() -> None:
    probs = frames([BLANK, A, A, BLANK, FILLER, BLANK, FILLER, FILLER, BLANK, B_])
    probs[2, A] = 0.99  # the second frame of 'A' is its peak
    assert best_path(probs) == [(A, 2), (FILLER, 4), (FILLER, 6), (B_, 9)]


def test_the_best_path_of_the_right_length_is_taken_as_it_is() -> None:
    probs = frames([BLANK, A, BLANK, FILLER, BLANK, FILLER, BLANK, B_, BLANK])
    rows, forced = character_rows(probs, 4)
    assert not forced
    assert "".join(ALPHABET[k] for k in rows.argmax(axis=1)) == "A<<B"


def test_a_speck_read_as_an_extra_character_is_dropped_when_the_length_is_known() -> None:
    probs = frames([B_, BLANK, A, BLANK, FILLER, BLANK, FILLER, BLANK, B_])
    probs[0] = (1 - 0.4 - 0.35) / BLANK
    probs[0, B_], probs[0, BLANK] = 0.4, 0.35  # a weak mark at the strip's edge
    assert text(best_path(probs)) == "BA<<B"
    assert text(path_of_length(probs, 4)) == "A<<B"


def test_a_missing_character_is_never_made_up_with_confidence() -> None:
    """Two fillers merged without a blank between them cannot be split (CTC merges repeats):
    the length is made up with a character the model did not see, whose row holds little."""
    probs = frames([BLANK, A, BLANK, FILLER, FILLER, FILLER, BLANK, B_, BLANK])
    rows, forced = character_rows(probs, 4)
    assert forced
    assert min(rows.sum(axis=1)) < 0.5


def test_rows_keep_the_model_s_own_probabilities_unnormalised() -> None:
    probs = frames([BLANK, A, BLANK, B_, BLANK], sure=0.6)
    rows, _ = character_rows(probs, 2)
    assert rows.shape == (2, BLANK)
    assert rows[0, A] == pytest.approx(0.6)
    assert rows.sum(axis=1) == pytest.approx([1 - 0.4 / BLANK] * 2)


def test_more_characters_than_frames_is_no_reading() -> None:
    assert path_of_length(frames([A, BLANK, B_]), 5) is None
    assert character_rows(frames([A, BLANK, B_]), 5) is None
