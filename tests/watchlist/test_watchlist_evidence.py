"""Birth date, nationality and sex as supporting or contradicting evidence."""

from __future__ import annotations

import pytest

from edge.watchlist.evidence import (
    compare_birth_dates,
    compare_nationality,
    compare_sex,
)


@pytest.mark.parametrize(
    ("query", "entry", "kind", "sign"),
    [
        ("1980-05-17", "1980-05-17", "dob_exact", 1),
        ("1980-05-17", "1980-05", "dob_year_month", 1),
        ("1980-05-17", "1980", "dob_year", 1),
        ("1980-05-07", "1980-07-05", "dob_swapped", 1),
        ("1980-05-17", "1980-05-18", "dob_day_disjoint", -1),
        ("1980-05", "1980-06", "dob_day_disjoint", -1),
        ("1980-05-17", "1981-05-17", "dob_year_typo", 1),
        ("1980-05-17", "1981", "dob_year_off_by_one", -1),
        ("1980-05-17", "1985-05-17", "dob_disjoint", -1),
        ("1980-05-17", None, "dob_unknown", 0),
        (None, "1980", "dob_unknown", 0),
    ],
)
def test_birth_dates(query: str | None, entry: str | None, kind: str, sign: int) -> None:
    feature = compare_birth_dates(query, entry)
    assert feature.kind == kind
    assert (feature.adjust > 0) - (feature.adjust < 0) == sign
    assert feature.reason


def test_disjoint_birth_year_outweighs_a_shared_year() -> None:
    assert compare_birth_dates("1970", "1990").adjust < -compare_birth_dates("1970", "1970").adjust


def test_nationality_and_sex() -> None:
    assert compare_nationality("IDN", "IDN").kind == "nat_agree"
    assert compare_nationality("IDN", "MYS").adjust < 0
    assert compare_nationality(None, "MYS").adjust == 0
    assert compare_sex("M", "F").kind == "sex_contradict"
    assert compare_sex("X", "F").adjust == 0  # unspecified never contradicts
    assert compare_sex("F", "F").adjust == 0
