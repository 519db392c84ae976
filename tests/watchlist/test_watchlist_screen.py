"""Screening levels, validity windows and the blocking index, through ``Screener.screen``."""

from __future__ import annotations

from datetime import date

import pytest

from edge.watchlist import Screener, ScreeningQuery, WatchlistEntry

TODAY = date(2026, 3, 1)


def entry(entry_id: str = "E1", **kw: object) -> WatchlistEntry:
    fields: dict[str, object] = {
        "list": "pencegahan", "surname": "SOEHARTO", "given_names": "MOCH. DJOKO", "birth_date": "1970-03-04",
        "nationality": "IDN", "sex": "M", "document_numbers": ("B1234567",), "agency": "KPK",
        "valid_from": date(2025, 1, 1), "valid_until": date(2027, 1, 1),
    }
    fields.update(kw)
    return WatchlistEntry(entry_id=entry_id, **fields)  # type: ignore[arg-type]


def query(**kw: object) -> ScreeningQuery:
    fields: dict[str, object] = {
        "id": "q", "document_number": "C7654321", "surname": "SUHARTO", "given_names": "MUHAMMAD JOKO",
        "birth_date": "1970-03-04", "nationality": "IDN", "sex": "M",
    }
    fields.update(kw)
    return ScreeningQuery(**fields)  # type: ignore[arg-type]


def test_full_name_birth_date_and_nationality_is_identical_with_reasons() -> None:
    result = Screener([entry()]).screen(query(), today=TODAY)
    assert result.level == "identical"
    best = result.candidates[0]
    assert best.entry_id == "E1" and best.list == "pencegahan"
    assert "name: MOCH → MUHAMMAD variant" in best.reasons
    assert "birth date identical" in best.reasons
    assert any("SOEHARTO" in r and "spelling" in r for r in best.reasons)


def test_document_number_identical_is_identical_even_with_another_name_spelling() -> None:
    result = Screener([entry()]).screen(query(document_number="B 1234567", birth_date="1970"), today=TODAY)
    assert result.level == "identical"
    assert "document number identical" in result.candidates[0].reasons


def test_stolen_document_without_a_name_matches_on_number_and_issuer() -> None:
    sltd = entry("S1", list="interpol_sltd", surname="", given_names="", birth_date=None, sex=None,
                 nationality="MYS", document_numbers=("A0O1234",))
    screener = Screener([sltd])
    assert screener.screen(query(document_number="A001234", nationality="MYS"), today=TODAY).level == "identical"
    # Same number from another issuing state: an officer looks, the gate does not hold.
    assert screener.screen(query(document_number="A001234", nationality="SGP"), today=TODAY).level == "similar"


def test_document_number_with_contradicting_name_is_only_similar() -> None:
    result = Screener([entry()]).screen(
        query(document_number="B1234567", surname="TANOTO", given_names="ROBERT"), today=TODAY)
    assert result.level == "similar"


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({}, "identical"),
        ({"birth_date": "1970"}, "similar"),  # partial date: review, not hold
        ({"nationality": None}, "similar"),  # nationality unknown
        ({"birth_date": "1985-03-04"}, "none"),  # disjoint birth year
        ({"sex": "F"}, "similar"),  # contradicting sex
        ({"surname": "HARTONO", "given_names": "BUDI"}, "none"),
    ],
)
def test_level_rules(changes: dict[str, object], level: str) -> None:
    assert Screener([entry()]).screen(query(**changes), today=TODAY).level == level


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "matches"),
    [
        (date(2025, 1, 1), date(2026, 3, 1), True),  # last day inclusive
        (date(2026, 3, 1), None, True),  # first day inclusive
        (date(2025, 1, 1), date(2026, 2, 28), False),  # expired
        (date(2026, 3, 2), None, False),  # not yet valid
    ],
)
def test_validity_window_on_today(valid_from: date, valid_until: date | None, matches: bool) -> None:
    screener = Screener([entry(valid_from=valid_from, valid_until=valid_until)])
    result = screener.screen(query(document_number="B1234567"), today=TODAY)
    assert (result.level != "none") is matches


def test_variants_are_found_among_many_entries() -> None:
    """The blocking keys must bring spelling variants, swapped order and joined names together."""
    crowd = [entry(f"X{i}", surname=f"ORANG{i}", given_names="BUDI", document_numbers=(), birth_date="1970-03-04")
             for i in range(300)]
    target = entry("T", surname="ABDURRAHMAN", given_names="DJOKO", document_numbers=(), birth_date="1970-03-04")
    screener = Screener(crowd + [target])
    result = screener.screen(query(surname="JOKO", given_names="ABDUL RAHMAN", document_number=""), today=TODAY)
    assert result.candidates and result.candidates[0].entry_id == "T"
    assert result.level in {"similar", "identical"}


def test_candidates_best_first_and_bounded() -> None:
    entries = [entry(f"E{i}", document_numbers=()) for i in range(10)]
    screener = Screener(entries, max_results=3)
    result = screener.screen(query(), today=TODAY)
    assert len(result.candidates) == 3
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_no_candidates_on_empty_list_or_empty_query() -> None:
    assert Screener([]).screen(query(), today=TODAY).level == "none"
    result = Screener([entry()]).screen(ScreeningQuery(id="blank"), today=TODAY)
    assert result.level == "none" and result.candidates == [] and result.id == "blank"


def test_document_hit_is_scored_first_when_candidates_are_capped() -> None:
    """The candidate cap must never push out the entry whose document number is on the passport."""
    namesakes = [entry(f"N{i}", document_numbers=(), birth_date="1970") for i in range(50)]
    listed = entry("DOC", surname="LAIN", given_names="ORANG", document_numbers=("C7654321",))
    screener = Screener([*namesakes, listed], max_candidates=4, max_results=10)
    result = screener.screen(query(), today=TODAY)
    assert "DOC" in [c.entry_id for c in result.candidates]
    assert len(result.candidates) <= 4
