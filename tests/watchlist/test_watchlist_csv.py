"""CSV import/export: every bad row is reported with its row number and column."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edge.watchlist.csvio import parse_csv, read_csv, stable_entry_id, to_csv_text
from edge.watchlist.errors import CsvFormatError, CsvImportError

HEADER = "list,document_number,surname,given_names,birth_date,nationality,sex,agency,valid_from,valid_until,reason\n"
GOOD = "pencegahan,B1234567;B7654321,SOEHARTO,DJOKO,1970-03,IDN,M,KPK,2025-01-01,2027-01-01,tersangka\n"


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_csv(io.StringIO(text))


def test_good_row_parses_with_two_documents_and_partial_birth_date() -> None:
    entries, errors = parse(HEADER + GOOD)
    assert errors == []
    (e,) = entries
    assert e.document_numbers == ("B1234567", "B7654321")
    assert e.birth_date == "1970-03"
    assert e.entry_id.startswith("pencegahan-")


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        ("blacklist,B1,X,Y,1970,IDN,M,KPK,,,r\n", "list", "pencegahan"),
        ("pencegahan,B1,X,Y,1970-02-30,IDN,M,KPK,,,r\n", "birth_date", "calendar"),
        ("pencegahan,B1,X,Y,70,IDN,M,KPK,,,r\n", "birth_date", "YYYY"),
        ("pencegahan,B1,X,Y,1970,INDONESIA,M,KPK,,,r\n", "nationality", "ICAO"),
        ("pencegahan,B1,X,Y,1970,IDN,Q,KPK,,,r\n", "sex", ""),
        ("pencegahan,B1,X,Y,1970,IDN,M,KPK,01/02/2025,,r\n", "valid_from", "YYYY-MM-DD"),
        ("pencegahan,B1,X,Y,1970,IDN,M,KPK,2026-01-01,2025-01-01,r\n", "(row)", "before"),
        ("pencegahan,,,,1970,IDN,M,KPK,,,r\n", "(row)", "document number or a name"),
    ],
)
def test_row_errors_name_row_and_column(row: str, column: str, fragment: str) -> None:
    entries, errors = parse(HEADER + GOOD + row)
    assert len(entries) == 1
    (err,) = errors
    assert err.row == 3  # header is row 1, as a spreadsheet shows it
    assert err.column == column
    assert fragment in str(err)
    assert str(err).startswith(f"row 3, column {column!r}")


def test_all_errors_are_collected_and_duplicates_caught() -> None:
    text = "entry_id," + HEADER.replace("\n", "") + "\n" + "A," + GOOD + "A," + GOOD + "B,bad" + GOOD[10:]
    entries, errors = parse(text)
    assert [e.entry_id for e in entries] == ["A"]
    assert [(e.row, e.column) for e in errors] == [(3, "entry_id"), (4, "list")]


def test_header_problems_are_reported_before_rows() -> None:
    with pytest.raises(CsvFormatError, match="missing column.*reason.*unknown column.*notes"):
        parse(HEADER.replace(",reason", ",notes") + GOOD)


def test_read_csv_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(HEADER + GOOD + "nope" + GOOD[10:], encoding="utf-8")
    with pytest.raises(CsvImportError) as info:
        read_csv(path)
    assert len(info.value.errors) == 1 and info.value.errors[0].row == 3


def test_export_round_trips_and_ids_are_stable() -> None:
    entries, _ = parse(HEADER + GOOD)
    again, errors = parse(to_csv_text(entries))
    assert errors == [] and again == entries
    row = {"list": "pencegahan", "document_number": "B1", "surname": "x"}
    assert stable_entry_id(row) == stable_entry_id(dict(row, surname=" X "))
