"""Check-digit-constrained decoding on hand-made probability tables (no model, no images)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from edge.mrz import compose_mrvb, compose_td1, compose_td2, compose_td3
from edge.mrz.decode import ALPHABET, decode

TODAY = date(2026, 11, 27)
FIELDS = {
    "surname": "SANTOSO", "given_names": "BUDI", "document_number": "C1234567", "nationality": "IDN",
    "birth_date": date(1985, 3, 14), "sex": "M", "expiry_date": date(2030, 5, 1),
}


def _sure(lines: tuple[str, ...]) -> np.ndarray:
    probs = np.full((sum(map(len, lines)), len(ALPHABET)), 1e-4)
    for i, char in enumerate("".join(lines)):
        probs[i, ALPHABET.index(char)] = 1.0
    return probs / probs.sum(axis=1, keepdims=True)


def _confuse(probs: np.ndarray, index: int, wrong: str, p_wrong: float, right: str) -> np.ndarray:
    out = probs.copy()
    out[index] = 1e-4
    out[index, ALPHABET.index(wrong)] = p_wrong
    out[index, ALPHABET.index(right)] = 1 - p_wrong
    return out


@pytest.mark.parametrize(
    ("compose", "fmt"),
    [(compose_td3, "TD3"), (compose_td1, "TD1"), (compose_td2, "TD2"), (compose_mrvb, "MRVB")],
)
def test_a_confident_reading_is_returned_as_is(compose, fmt: str) -> None:
    lines = compose(**FIELDS)
    result = decode(_sure(lines), fmt, today=TODAY)
    assert result.valid and result.lines == lines and result.mrz is not None
    assert result.confidence > 0.5


def test_an_unsure_character_is_corrected_by_its_check_digit() -> None:
    """Without the DP, a 60/40 confusion in the document number would be a failed read."""
    lines = compose_td3(**FIELDS)
    index = 44 + 3
    right = lines[1][3]
    wrong = "8" if right != "8" else "9"
    result = decode(_confuse(_sure(lines), index, wrong, 0.6, right), "TD3", today=TODAY)
    assert result.valid and result.lines == lines


def test_a_confident_misprint_is_reported_invalid_not_corrected() -> None:
    """A check digit that fails as printed must never be 'fixed' by changing a sure character."""
    lines = compose_td3(**FIELDS)
    bad = lines[1][:9] + str((int(lines[1][9]) + 1) % 10) + lines[1][10:]
    result = decode(_sure((lines[0], bad)), "TD3", today=TODAY)
    assert not result.valid
    assert result.lines == (lines[0], bad)
    assert "document_number" in result.failed_checks


def test_two_unsure_characters_in_one_field_are_not_guessed() -> None:
    lines = compose_td3(**FIELDS)
    probs = _sure(lines)
    for col in (2, 5):
        right = lines[1][col]
        wrong = "8" if right != "8" else "9"
        probs = _confuse(probs, 44 + col, wrong, 0.6, right)
    result = decode(probs, "TD3", today=TODAY)
    assert not result.valid


def test_an_unsure_name_character_makes_the_reading_invalid() -> None:
    """Names have no check digit: a doubtful letter there can never be proven."""
    lines = compose_td3(**FIELDS)
    result = decode(_confuse(_sure(lines), 7, "K", 0.4, lines[0][7]), "TD3", today=TODAY)
    assert not result.valid and "low_confidence" in result.failed_checks


def test_layout_classes_fix_letter_digit_confusions_in_dates() -> None:
    """'O' in a date position is read as '0' by layout alone (dates hold digits only)."""
    lines = compose_td3(**FIELDS | {"birth_date": date(1980, 1, 1)})
    col = 13 + 1  # the '0' of '80'
    assert lines[1][col] == "0"
    result = decode(_confuse(_sure(lines), 44 + col, "O", 0.7, "0"), "TD3", today=TODAY)
    assert result.valid and result.lines == lines


def test_a_confusion_the_check_digit_cannot_see_is_not_accepted() -> None:
    """'Q' (26) and '6' differ by 20: every check digit passes either way, so it proves nothing."""
    lines = compose_td3(**FIELDS | {"document_number": "GZ2TFQ"})
    col = 5
    assert lines[1][col] == "Q"
    result = decode(_confuse(_sure(lines), 44 + col, "6", 0.7, "Q"), "TD3", today=TODAY)
    assert not result.valid and "low_confidence" in result.failed_checks


def _spread(probs: np.ndarray, index: int, right: str, p_right: float) -> np.ndarray:
    """The right character stays the best guess, with the rest spread thinly over the others."""
    out = probs.copy()
    out[index] = (1 - p_right) / (len(ALPHABET) - 1)
    out[index, ALPHABET.index(right)] = p_right
    return out


def test_a_field_of_doubtful_characters_is_not_proven_by_its_check_digit() -> None:
    """Two characters at 0.3 in one field: the check digit passes, but it would pass for 1 in 10
    random readings too, so it vouches for nothing (a garbage document number once got through)."""
    lines = compose_td3(**FIELDS)
    probs = _sure(lines)
    for col in (2, 5):
        probs = _spread(probs, 44 + col, lines[1][col], 0.3)
    result = decode(probs, "TD3", today=TODAY)
    assert result.lines == lines
    assert not result.valid and "low_confidence" in result.failed_checks


def test_one_doubtful_character_per_field_is_what_a_check_digit_covers() -> None:
    lines = compose_td3(**FIELDS)
    result = decode(_spread(_sure(lines), 44 + 2, lines[1][2], 0.3), "TD3", today=TODAY)
    assert result.valid and result.lines == lines


def test_a_document_code_must_start_with_an_icao_letter() -> None:
    """A names line read one cell off starts with a confident letter that is no document code
    ('R' for 'IR...'): the layout forces P/V/I/A/C, which the model gave almost nothing."""
    lines = compose_td2(**FIELDS, document_code="IR")
    shifted = (lines[0][1:] + "<", lines[1])
    result = decode(_sure(shifted), "TD2", today=TODAY)
    assert not result.valid and "low_confidence" in result.failed_checks


def test_a_name_letter_the_model_did_not_see_is_not_made_up_by_the_layout() -> None:
    """'5' at 0.95 where only letters may stand: masking would make the best letter look sure."""
    lines = compose_td3(**FIELDS)
    probs = _confuse(_sure(lines), 7, "5", 0.95, lines[0][7])
    result = decode(probs, "TD3", today=TODAY)
    assert not result.valid and "low_confidence" in result.failed_checks


def test_two_wrong_characters_that_cancel_in_the_check_digit_are_not_accepted() -> None:
    """'XX000000' read with two 0/O coin tosses whose values cancel (3 x 24 + 7 x 24 = 240): the
    check digit passes, but with several unsure characters in the field it proves nothing."""
    lines = compose_td3(**{**FIELDS, "document_number": "XX000000"})
    probs = _sure(lines)
    for col, p_wrong in ((3, 0.3), (4, 0.52), (5, 0.3), (6, 0.64)):
        probs = _confuse(probs, 44 + col, "O", p_wrong, "0")
    result = decode(probs, "TD3", today=TODAY)
    assert not result.valid and "low_confidence" in result.failed_checks


def test_a_visa_s_unchecked_optional_data_must_be_read_surely() -> None:
    """MRV-B optional data has no check digit and admits letters and digits: an 'O' the model
    gives 0.95 may still be a '0', so it is not accepted."""
    lines = compose_mrvb(**FIELDS, optional_data="UAQO6D")
    probs = _confuse(_sure(lines), 36 + 31, "0", 0.05, "O")
    result = decode(probs, "MRVB", today=TODAY)
    assert result.lines == lines
    assert not result.valid and "low_confidence" in result.failed_checks
    assert decode(_sure(lines), "MRVB", today=TODAY).valid


def test_a_nationality_that_is_no_known_state_code_must_be_read_surely() -> None:
    """No check digit covers a state code: 'CHN' with its C read as an O at 0.95 would make a
    Chinese traveller 'OHN'. A known code at that confidence is accepted; an unknown one is not."""
    known = compose_td3(**{**FIELDS, "nationality": "CHN"})
    assert decode(_confuse(_sure(known), 44 + 10, "O", 0.05, "C"), "TD3", today=TODAY).valid
    unknown = compose_td3(**{**FIELDS, "nationality": "OHN"})
    result = decode(_confuse(_sure(unknown), 44 + 10, "C", 0.05, "O"), "TD3", today=TODAY)
    assert result.lines == unknown
    assert not result.valid and "low_confidence" in result.failed_checks
    assert decode(_sure(unknown), "TD3", today=TODAY).valid  # a sure reading of a new code is kept


@pytest.mark.parametrize("row", [44 + 3, 44 + 9])  # inside the document number; its check digit
def test_a_character_the_recogniser_barely_saw_is_not_accepted(row: int) -> None:
    """A row whose characters share less than half the probability (the rest went to blank)
    stands for a character forced in to make up the length, even where its check digit passes."""
    lines = compose_td3(**FIELDS)
    probs = _sure(lines)
    probs[row] *= 0.4
    result = decode(probs, "TD3", today=TODAY)
    assert result.lines == lines and not result.valid and "low_confidence" in result.failed_checks
    assert decode(_sure(lines), "TD3", today=TODAY).valid
