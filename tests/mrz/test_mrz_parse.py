"""Parser tests on the ICAO 9303 specimens, each check digit, the peers' quirks and garbage."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from edge.mrz import Mrz, MrzError, MrzFormatError, check_digit, parse_mrz

TODAY = date(2026, 11, 27)

TD3 = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
TD1 = ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
MRVA = ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<")
MRVB = ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<")


@pytest.mark.parametrize(
    ("field", "expected"),
    [("D23145890", "7"), ("L898902C3", "6"), ("740812", "2"), ("120415", "9"), ("<<<<<<", "0"), ("AB2134<<<", "5")],
)
def test_check_digit_icao_examples(field: str, expected: str) -> None:
    assert check_digit(field) == expected


def test_check_digit_rejects_characters_outside_the_alphabet() -> None:
    with pytest.raises(ValueError):
        check_digit("ab")


def test_td3_specimen_fields() -> None:
    mrz = parse_mrz(TD3, today=TODAY)
    assert mrz.format == "TD3" and mrz.valid and mrz.failed_checks == ()
    assert (mrz.document_code, mrz.issuing_state, mrz.document_number) == ("P", "UTO", "L898902C3")
    assert (mrz.surname, mrz.given_names, mrz.nationality, mrz.sex) == ("ERIKSSON", "ANNA MARIA", "UTO", "F")
    assert mrz.birth_date == date(1974, 8, 12) and mrz.expiry_date == date(2012, 4, 15)
    assert mrz.optional_data == "ZE184226B"
    assert mrz.lines == TD3


@pytest.mark.parametrize(
    ("lines", "fmt", "number", "optional"),
    [
        (TD1, "TD1", "D23145890", ""),
        (TD2, "TD2", "D23145890", ""),
        (MRVA, "MRVA", "L8988901C", "6ZE184226B"),
        (MRVB, "MRVB", "L8988901C", ""),
    ],
)
def test_other_format_specimens(lines: tuple[str, ...], fmt: str, number: str, optional: str) -> None:
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.format, mrz.valid, mrz.document_number, mrz.optional_data) == (fmt, True, number, optional)
    assert (mrz.surname, mrz.given_names, mrz.birth_date) == ("ERIKSSON", "ANNA MARIA", mrz.birth_date)
    assert mrz.birth_date is not None and mrz.birth_date.month in (8, 9)


def test_accepts_one_string_with_newlines_whitespace_and_lower_case() -> None:
    text = "\n  " + TD3[0].lower() + "  \r\n" + TD3[1] + "\n\n"
    assert parse_mrz(text, today=TODAY) == parse_mrz(TD3, today=TODAY)


def test_accepts_one_unbroken_string() -> None:
    assert parse_mrz("".join(TD1), today=TODAY).format == "TD1"


def test_fields_gives_the_nine_sop_fields() -> None:
    assert parse_mrz(TD3, today=TODAY).fields() == {
        "document_number": "L898902C3",
        "document_type": "P",
        "issuing_state": "UTO",
        "expiry_date": "2012-04-15",
        "given_names": "ANNA MARIA",
        "surname": "ERIKSSON",
        "sex": "F",
        "birth_date": "1974-08-12",
        "nationality": "UTO",
    }


def _replace(line: str, column: int, char: str) -> str:
    return line[:column] + char + line[column + 1 :]


@pytest.mark.parametrize(
    ("lines", "line_no", "column", "expected"),
    [
        (TD3, 1, 9, ("document_number", "composite")),
        (TD3, 1, 19, ("birth_date", "composite")),
        (TD3, 1, 27, ("expiry_date", "composite")),
        (TD3, 1, 42, ("optional_data", "composite")),
        (TD3, 1, 43, ("composite",)),
        (TD1, 0, 14, ("document_number", "composite")),
        (TD1, 1, 6, ("birth_date", "composite")),
        (TD1, 1, 14, ("expiry_date", "composite")),
        (TD1, 1, 29, ("composite",)),
        (TD2, 1, 9, ("document_number", "composite")),
        (TD2, 1, 19, ("birth_date", "composite")),
        (TD2, 1, 27, ("expiry_date", "composite")),
        (TD2, 1, 35, ("composite",)),
        (MRVA, 1, 9, ("document_number",)),
        (MRVA, 1, 19, ("birth_date",)),
        (MRVB, 1, 27, ("expiry_date",)),
    ],
)
def test_each_failing_check_digit_is_reported(
    lines: tuple[str, ...], line_no: int, column: int, expected: tuple[str, ...]
) -> None:
    """A wrong check digit yields valid=False naming the field, never an exception."""
    changed = list(lines)
    old = changed[line_no][column]
    changed[line_no] = _replace(changed[line_no], column, "1" if old != "1" else "2")
    mrz = parse_mrz(changed, today=TODAY)
    assert not mrz.valid
    assert mrz.failed_checks == expected


def test_a_misread_data_character_fails_its_check_digit() -> None:
    line2 = _replace(TD3[1], 2, "O")  # '8' read as 'O'
    mrz = parse_mrz((TD3[0], line2), today=TODAY)
    assert mrz.failed_checks == ("document_number", "composite")


def test_invalid_sex_character_makes_the_mrz_invalid() -> None:
    mrz = parse_mrz((TD3[0], _replace(TD3[1], 20, "Q")), today=TODAY)
    assert not mrz.valid and "sex" in mrz.failed_checks and mrz.sex == "X"


def test_single_name_holder_with_only_a_surname() -> None:
    """Common in Indonesia: one name, printed as the primary identifier."""
    line1 = "P<IDNSUKARNO" + "<" * 32
    line2 = "B1234567<4IDN0106215M3012319<<<<<<<<<<<<<<04"
    mrz = parse_mrz((line1, line2), today=TODAY)
    assert (mrz.surname, mrz.given_names) == ("SUKARNO", "")


def test_single_name_holder_with_only_given_names() -> None:
    line1 = "P<IDN<<SUKARNO" + "<" * 30
    mrz = parse_mrz((line1, TD3[1]), today=TODAY)
    assert (mrz.surname, mrz.given_names) == ("", "SUKARNO")


def test_filler_as_check_digit_over_an_empty_field_is_accepted() -> None:
    """'<' printed as the check digit of an all-filler field, seen on real documents."""
    from edge.mrz import compose_mrvb

    lines = compose_mrvb(
        surname="DOE", given_names="JO", document_number="", nationality="UTO",
        birth_date=date(1980, 1, 2), sex="M", expiry_date=date(2030, 1, 2),
    )
    assert lines[1][9] == "0"
    mrz = parse_mrz((lines[0], _replace(lines[1], 9, "<")), today=TODAY)
    assert mrz.valid and mrz.document_number == ""


def test_filler_as_check_digit_over_a_non_empty_field_is_refused() -> None:
    mrz = parse_mrz((TD3[0], _replace(TD3[1], 19, "<")), today=TODAY)
    assert "birth_date" in mrz.failed_checks


def test_td1_long_document_number() -> None:
    """Numbers over nine characters continue in the optional data (Doc 9303 part 5, 4.2.2)."""
    line1 = "I<NLDD23145890<7349<<<<<<<<<<<"
    line2 = "3407127M9507122UTO<<<<<<<<<<<2"
    mrz = parse_mrz((line1, line2, "VAN<DER<STEEN<<MARIANNE<LOUISE"), today=TODAY)
    assert mrz.document_number == "D23145890734"
    assert mrz.optional_data == ""
    assert "document_number" not in mrz.failed_checks
    assert (mrz.surname, mrz.given_names) == ("VAN DER STEEN", "MARIANNE LOUISE")


def test_non_icao_state_codes_are_kept() -> None:
    """Germany prints 'D<<'; UN organisations use UNO/UNA/UNK."""
    mrz = parse_mrz(("P<D<<MUSTERMANN<<ERIKA" + "<" * 22, TD3[1]), today=TODAY)
    assert mrz.issuing_state == "D"
    mrz = parse_mrz(("PLUNOSMITH<<JANE" + "<" * 28, TD3[1]), today=TODAY)
    assert (mrz.document_code, mrz.issuing_state) == ("PL", "UNO")


@pytest.mark.parametrize(
    ("field", "today", "expected"),
    [
        ("991231", date(2026, 11, 27), date(1999, 12, 31)),
        ("261127", date(2026, 11, 27), date(2026, 11, 27)),
        ("261128", date(2026, 11, 27), date(1926, 11, 28)),
        ("000229", date(2026, 1, 1), date(2000, 2, 29)),
        ("<<<<<<", date(2026, 1, 1), None),
        ("991340", date(2026, 1, 1), None),
    ],
)
def test_birth_date_century(field: str, today: date, expected: date | None) -> None:
    from edge.mrz.parse import birth_date

    assert birth_date(field, today) == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [("300101", date(2030, 1, 1)), ("760101", date(2076, 1, 1)), ("770101", date(1977, 1, 1)), ("120415", date(2012, 4, 15))],
)
def test_expiry_date_century(field: str, expected: date) -> None:
    from edge.mrz.parse import expiry_date

    assert expiry_date(field, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("hello world", "expected 3 lines of 30"),
        (TD3[0] + "\n" + TD3[1][:40], "got 2 line(s) of 44, 40"),
        ((TD3[0], TD3[1], TD3[1]), "got 3 line(s)"),
        (TD3[0] + "\n" + TD3[1].replace("<", "«"), "not in the MRZ alphabet"),
        (TD3[0].replace("<<", "  ", 1) + "\n" + TD3[1], "not in the MRZ alphabet"),
        ("1" + TD3[0][1:] + "\n" + TD3[1], "document code must start with a letter"),
    ],
)
def test_garbage_is_a_clear_format_error(text: object, message: str) -> None:
    with pytest.raises(MrzFormatError, match="not an MRZ") as info:
        parse_mrz(text)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert isinstance(info.value, MrzError) and isinstance(info.value, ValueError)


def test_non_text_input_is_a_format_error() -> None:
    with pytest.raises(MrzFormatError):
        parse_mrz(12345)  # type: ignore[arg-type]


def test_mrz_is_frozen_and_its_repr_hides_the_lines() -> None:
    mrz = parse_mrz(TD3, today=TODAY)
    with pytest.raises(ValidationError):
        mrz.surname = "X"  # type: ignore[misc]
    assert "ERIKSSON" not in repr(mrz) and "L898902C3" not in str(mrz)
    assert isinstance(mrz, Mrz)
