"""CSV import at central: parse and check a whole file, then import it as ONE version.

The file is refused whole when any row is bad (``ImportRejected`` lists row, column and message
for every one, central's field bounds included), and the refusal itself is audited. Parsing is
the gate-side engine's (``edge.watchlist.csvio``), so both read a file the same way.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from central.services import audit
from central.errors import ImportRejected
from central.watchlists import service
from edge.watchlist.csvio import parse_csv, stable_entry_id
from edge.watchlist.errors import CsvFormatError
from edge.watchlist.model import WatchlistEntry


def parse_import(text: str, *, source: str) -> list[WatchlistEntry]:
    """All entries of a CSV text or ``ImportRejected`` with (row, column, message) for every bad
    row, central's bounds included: a file is imported whole or not at all."""
    try:
        entries, row_errors = parse_csv(io.StringIO(text))
    except CsvFormatError as exc:
        raise ImportRejected(source, [(1, "(header)", str(exc))], where="column") from exc
    errors = [(e.row, e.column, e.message) for e in row_errors]
    if entries:
        rows_of = _row_numbers(text)
        for entry in entries:
            problem = service.bounds_problem(entry)
            if problem:
                errors.append((rows_of.get(entry.entry_id, 0), problem[0], problem[1]))
    if not entries and not errors:
        errors.append((1, "(file)", "no entries"))
    if errors:
        raise ImportRejected(source, sorted(errors), where="column")
    return entries


def _row_numbers(text: str) -> dict[str, int]:
    # The row each entry id came from (header = row 1), to name the row of a bounds error.
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [h.strip() for h in (reader.fieldnames or [])]
    rows: dict[str, int] = {}
    for index, row in enumerate(reader, start=2):
        cells = {k: (v or "") for k, v in row.items() if k is not None}
        rows.setdefault(cells.get("entry_id", "").strip() or stable_entry_id(cells), index)
    return rows


def import_csv(session: Session, text: str, actor: audit.Actor, *, source: str, replace: bool = False) -> service.ChangeResult:
    """Parse and import a CSV text (``autogate watchlist import``, the upload form, the API)."""
    try:
        entries = parse_import(text, source=source)
    except ImportRejected as exc:
        audit.record(session, actor, "watchlist_import_rejected", f"watchlist-import:{source}"[:200], {
            "errors": len(exc.errors), "first": [list(e) for e in exc.errors[:5]],
        })
        raise
    return service.import_entries(session, entries, actor, source=source, replace=replace)
