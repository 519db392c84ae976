"""CSV import and export of watchlist entries (``autogate watchlist check-csv``, central's import).

Columns (header names, any order): list, document_number, surname, given_names, birth_date,
nationality, sex, agency, valid_from, valid_until, reason; optional: interested_party, entry_id.
Several document numbers go in one cell separated by ";". Dates are ISO (birth_date may be
"1980" or "1980-05"). Rows are numbered as a spreadsheet shows them: the header is row 1.
An entry without entry_id gets a stable id derived from its content, so importing the same file
twice yields the same ids.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from edge.watchlist.errors import CsvFormatError, CsvImportError, CsvRowError
from edge.watchlist.model import WatchlistEntry

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "list", "document_number", "surname", "given_names", "birth_date", "nationality", "sex",
    "agency", "valid_from", "valid_until", "reason",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("interested_party", "entry_id")
COLUMNS: tuple[str, ...] = ("entry_id",) + REQUIRED_COLUMNS + ("interested_party",)
# pydantic field -> CSV column, for naming the column in row errors
_FIELD_TO_COLUMN = {"document_numbers": "document_number", "list": "list"}


def stable_entry_id(row: dict[str, str]) -> str:
    """Content-derived id: list prefix + 12 hex digits of SHA-256 over the identifying columns."""
    ident = "\x1f".join(row.get(c, "").strip().upper() for c in
                        ("list", "document_number", "surname", "given_names", "birth_date", "nationality"))
    return f"{row.get('list', '').strip()}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}"


def _parse_date(row_number: int, column: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CsvRowError(row_number, column, f"{value!r} is not a YYYY-MM-DD date") from exc


def entry_from_row(row_number: int, row: dict[str, str]) -> WatchlistEntry:
    """One CSV row to an entry; raises ``CsvRowError`` naming the row and the first bad column."""
    cells = {k: (v or "") for k, v in row.items() if k is not None}
    valid_from = _parse_date(row_number, "valid_from", cells.get("valid_from", ""))
    valid_until = _parse_date(row_number, "valid_until", cells.get("valid_until", ""))
    try:
        return WatchlistEntry(
            entry_id=cells.get("entry_id", "").strip() or stable_entry_id(cells),
            list=cells.get("list", "").strip().lower(),  # type: ignore[arg-type]
            document_numbers=cells.get("document_number", ""),  # type: ignore[arg-type]
            surname=cells.get("surname", "").strip(),
            given_names=cells.get("given_names", "").strip(),
            birth_date=cells.get("birth_date", "").strip() or None,
            nationality=cells.get("nationality", "").strip() or None,
            sex=cells.get("sex", "").strip() or None,  # type: ignore[arg-type]
            agency=cells.get("agency", "").strip(),
            interested_party=cells.get("interested_party", "").strip(),
            reason=cells.get("reason", "").strip(),
            valid_from=valid_from,
            valid_until=valid_until,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][0] if err["loc"] else ""
        column = _FIELD_TO_COLUMN.get(str(loc), str(loc)) if loc else "(row)"
        message = err["msg"].removeprefix("Value error, ")
        raise CsvRowError(row_number, column, message) from exc


def parse_csv(stream: TextIO) -> tuple[list[WatchlistEntry], list[CsvRowError]]:
    """Every valid entry and every row error (not just the first), for check-csv and the web UI."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        raise CsvFormatError("; ".join(parts))
    reader.fieldnames = header
    entries: list[WatchlistEntry] = []
    errors: list[CsvRowError] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(reader, start=2):
        if None in row:
            errors.append(CsvRowError(index, "(row)", f"{len(row[None])} cell(s) more than the header"))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # blank line
        try:
            entry = entry_from_row(index, row)
        except CsvRowError as exc:
            errors.append(exc)
            continue
        if entry.entry_id in seen:
            errors.append(CsvRowError(index, "entry_id", f"duplicate of row {seen[entry.entry_id]} ({entry.entry_id})"))
            continue
        seen[entry.entry_id] = index
        entries.append(entry)
    return entries, errors


def read_csv(path: Path | str) -> list[WatchlistEntry]:
    """All entries of a CSV file, or ``CsvImportError`` listing every bad row: the function
    ``autogate watchlist import`` (central) calls, so a file is imported whole or not at all."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        entries, errors = parse_csv(fh)
    if errors:
        raise CsvImportError(str(path), errors)
    log.info("watchlist CSV %s: %d entries", path, len(entries))
    return entries


def write_csv(entries: Iterable[WatchlistEntry], stream: TextIO) -> None:
    """Export in the import format (round-trips through ``parse_csv``)."""
    writer = csv.DictWriter(stream, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow({
            "entry_id": e.entry_id, "list": e.list, "document_number": ";".join(e.document_numbers),
            "surname": e.surname, "given_names": e.given_names, "birth_date": e.birth_date or "",
            "nationality": e.nationality or "", "sex": e.sex or "", "agency": e.agency,
            "valid_from": e.valid_from.isoformat() if e.valid_from else "",
            "valid_until": e.valid_until.isoformat() if e.valid_until else "",
            "reason": e.reason, "interested_party": e.interested_party,
        })


def to_csv_text(entries: Iterable[WatchlistEntry]) -> str:
    buf = io.StringIO()
    write_csv(entries, buf)
    return buf.getvalue()
