"""Composer tests: parse(compose(x)) == x for every format (hypothesis), transliteration, truncation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.mrz import (
    MrzFormatError,
    compose_mrva,
    compose_mrvb,
    compose_td1,
    compose_td2,
    compose_td3,
    parse_mrz,
)
from edge.mrz.compose import transliterate_name

TODAY = date(2026, 11, 27)

_word = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8)
_name = st.lists(_word, min_size=0, max_size=3).map(" ".join)
_code3 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=3)
_alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_birth = st.dates(min_value=TODAY - timedelta(days=365 * 99), max_value=TODAY)
_expiry = st.dates(min_value=TODAY - timedelta(days=365 * 49), max_value=TODAY + timedelta(days=365 * 49))


def _doc(number_max: int, optional_max: int) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "surname": _name,
            "given_names": _name,
            "document_number": st.text(alphabet=_alnum, min_size=1, max_size=number_max),
            "nationality": _code3,
            "issuing_state": _code3,
            "birth_date": _birth,
            "sex": st.sampled_from(["M", "F", "X"]),
            "expiry_date": _expiry,
            "optional_data": st.text(alphabet=_alnum, max_size=optional_max),
        }
    )


def _fits(doc: dict, width: int) -> bool:
    length = len(doc["surname"].replace(" ", "<"))
    if doc["given_names"]:
        length += 2 + len(doc["given_names"].replace(" ", "<"))
    return length <= width


def _assert_round_trip(lines: tuple[str, ...], doc: dict, fmt: str) -> None:
    mrz = parse_mrz(lines, today=TODAY)
    assert mrz.format == fmt
    assert mrz.valid, mrz.failed_checks
    got = {key: getattr(mrz, key) for key in doc}
    assert got == doc


@settings(max_examples=150, deadline=None)
@given(_doc(9, 14))
def test_td3_round_trip(doc: dict) -> None:
    if _fits(doc, 39):
        _assert_round_trip(compose_td3(**doc), doc, "TD3")


@settings(max_examples=150, deadline=None)
@given(_doc(9, 16))
def test_mrva_round_trip(doc: dict) -> None:
    if _fits(doc, 39):
        _assert_round_trip(compose_mrva(**doc), doc, "MRVA")


@settings(max_examples=150, deadline=None)
@given(_doc(9, 8))
def test_mrvb_round_trip(doc: dict) -> None:
    if _fits(doc, 31):
        _assert_round_trip(compose_mrvb(**doc), doc, "MRVB")


@settings(max_examples=150, deadline=None)
@given(_doc(9, 7), st.text(alphabet=_alnum, min_size=0, max_size=3))
def test_td2_round_trip_including_long_numbers(doc: dict, extra: str) -> None:
    doc = doc | {"document_number": doc["document_number"] + extra}
    if len(doc["document_number"]) > 9:
        # The overflow, its check digit and a filler share the 7 optional positions.
        doc["optional_data"] = doc["optional_data"][: max(0, 7 - (len(doc["document_number"]) - 9) - 2)]
    if _fits(doc, 31):
        _assert_round_trip(compose_td2(**doc), doc, "TD2")


@settings(max_examples=150, deadline=None)
@given(_doc(9, 15), st.text(alphabet=_alnum, min_size=0, max_size=6), st.text(alphabet=_alnum, max_size=11))
def test_td1_round_trip_including_long_numbers(doc: dict, extra: str, optional_2: str) -> None:
    doc = doc | {"document_number": doc["document_number"] + extra, "optional_data_2": optional_2}
    if len(doc["document_number"]) > 9:
        doc["optional_data"] = doc["optional_data"][: max(0, 15 - (len(doc["document_number"]) - 9) - 2)]
    if _fits(doc, 30):
        _assert_round_trip(compose_td1(**doc), doc, "TD1")


def test_td3_matches_the_icao_specimen() -> None:
    lines = compose_td3(
        surname="Eriksson", given_names="Anna Maria", document_number="L898902C3", nationality="UTO",
        birth_date=date(1974, 8, 12), sex="F", expiry_date=date(2012, 4, 15), optional_data="ZE184226B",
    )
    assert lines == ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")


def test_td1_matches_the_icao_specimen() -> None:
    lines = compose_td1(
        surname="ERIKSSON", given_names="ANNA MARIA", document_number="D23145890", nationality="UTO",
        birth_date=date(1974, 8, 12), sex="F", expiry_date=date(2012, 4, 15),
    )
    assert lines == ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Müller", "MUELLER"),
        ("Ångström", "AANGSTROEM"),
        ("Strauß", "STRAUSS"),
        ("José Núñez", "JOSE<NUNEZ"),
        ("O'Neil", "ONEIL"),
        ("Smith-Jones", "SMITH<JONES"),
        ("  Siti   Nurhaliza ", "SITI<NURHALIZA"),
        ("Łukasz", "LUKASZ"),
    ],
)
def test_transliteration(name: str, expected: str) -> None:
    assert transliterate_name(name) == expected


def test_long_names_are_truncated_to_the_field() -> None:
    lines = compose_td3(
        surname="Wolfeschlegelsteinhausenbergerdorff", given_names="Hubert Blaine Charles",
        document_number="X1", nationality="DEU", birth_date=date(1990, 1, 1), sex="M",
        expiry_date=date(2030, 1, 1), issuing_state="D",
    )
    assert len(lines[0]) == 44 and lines[0].startswith("P<D<<WOLFESCHLEGEL")
    mrz = parse_mrz(lines, today=TODAY)
    assert mrz.valid and mrz.surname == "WOLFESCHLEGELSTEINHAUSENBERGERDORFF"
    assert mrz.given_names == "HU"


def test_single_name_holder_compose() -> None:
    lines = compose_td3(
        surname="", given_names="Sukarno", document_number="B1234567", nationality="IDN",
        birth_date=date(2001, 6, 21), sex="M", expiry_date=date(2030, 12, 31),
    )
    assert lines[0].startswith("P<IDN<<SUKARNO<")
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.surname, mrz.given_names, mrz.valid) == ("", "SUKARNO", True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"document_number": "1234567890"}, "document number is 10 characters"),
        ({"sex": "Q"}, "sex must be"),
        ({"nationality": "ID?"}, "outside the MRZ alphabet"),
        ({"optional_data": "X" * 15}, "optional data is 15 characters"),
    ],
)
def test_compose_rejects_what_cannot_be_written(kwargs: dict, message: str) -> None:
    base = {
        "surname": "A", "given_names": "B", "document_number": "1", "nationality": "IDN",
        "birth_date": date(1990, 1, 1), "sex": "M", "expiry_date": date(2030, 1, 1),
    }
    with pytest.raises(MrzFormatError) as info:
        compose_td3(**(base | kwargs))
    assert message in str(info.value)
