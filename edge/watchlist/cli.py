"""``autogate watchlist ...``: screen travelers against a list file, validate a CSV.

    autogate watchlist screen --json --list FILE [--today YYYY-MM-DD]   (queries as JSON lines on stdin)
    autogate watchlist check-csv FILE

FILE is a CSV in the import format (see ``csvio``) or a snapshot JSON (see ``snapshot``).
``autogate watchlist import FILE.csv`` (into central's database) is central's: it calls
``edge.watchlist.csvio.read_csv``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from edge.watchlist.csvio import parse_csv, read_csv
from edge.watchlist.errors import WatchlistError
from edge.watchlist.model import ScreeningQuery, WatchlistEntry
from edge.watchlist.screen import Screener
from edge.watchlist.snapshot import load_snapshot

log = logging.getLogger(__name__)


def load_list(path: Path) -> list[WatchlistEntry] | tuple[WatchlistEntry, ...]:
    """Entries from a CSV or a snapshot JSON file, chosen by extension."""
    if path.suffix.lower() == ".json":
        return load_snapshot(path).entries
    return read_csv(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate watchlist", description="Watchlist screening (cekal, Interpol).")
    sub = parser.add_subparsers(dest="command", required=True)
    screen = sub.add_parser("screen", help="screen JSON-line queries from stdin against a list file")
    screen.add_argument("--list", required=True, type=Path, help="CSV (import format) or snapshot JSON")
    screen.add_argument("--json", action="store_true", help="print one JSON result per line (default: text)")
    screen.add_argument("--today", type=date.fromisoformat, default=None,
                        help="date for validity periods, YYYY-MM-DD (default: today's date)")
    check = sub.add_parser("check-csv", help="validate a watchlist CSV; list every bad row")
    check.add_argument("file", type=Path)
    return parser


def _screen(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    screener = Screener(load_list(args.list))
    today = args.today or date.today()
    failures = 0
    for line_number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        query_id = None
        try:
            raw = json.loads(line)
            if isinstance(raw, dict):
                query_id = raw.get("id")
            query = ScreeningQuery.model_validate(raw)
        except (json.JSONDecodeError, ValidationError) as exc:
            failures += 1
            message = f"line {line_number}: {exc.msg if isinstance(exc, json.JSONDecodeError) else _first_error(exc)}"
            if args.json:
                stdout.write(json.dumps({"id": query_id, "error": message}) + "\n")
            else:
                stdout.write(f"{query_id or '-'}\terror\t{message}\n")
            continue
        result = screener.screen(query, today=today)
        if args.json:
            stdout.write(result.model_dump_json() + "\n")
        else:
            best = result.candidates[0] if result.candidates else None
            detail = f"{best.entry_id} {best.score:.2f} {'; '.join(best.reasons)}" if best else ""
            stdout.write(f"{result.id}\t{result.level}\t{detail}\n")
        stdout.flush()
    return 1 if failures else 0


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def _check_csv(path: Path, stdout: TextIO) -> int:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        entries, errors = parse_csv(fh)
    stdout.writelines(f"{path}: {err}\n" for err in errors)
    stdout.write(f"{path}: {len(entries)} valid entries, {len(errors)} invalid row(s)\n")
    return 1 if errors else 0


def main(argv: Sequence[str], *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    args = _parser().parse_args(list(argv))
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "screen":
            return _screen(args, stdin, stdout)
        return _check_csv(args.file, stdout)
    except (WatchlistError, OSError) as exc:
        sys.stderr.write(f"autogate watchlist: {exc}\n")
        return 2
