"""Errors of the central service.

CentralError
 ├── ConfigurationError(CentralError, ValueError)   settings refuse to start (missing secret/key)
 ├── StoreUnavailable(CentralError, ConnectionError) the database cannot be reached; retry, ack nothing
 ├── NotFound(CentralError, LookupError)             a gate, alert or user that does not exist
 ├── InvalidRequest(CentralError, ValueError)        a request a service refuses (bad field, no reason)
 │    └── ImportRejected(InvalidRequest)             a file has invalid rows; nothing was imported
 └── CommandNotSent(CentralError, ConnectionError)   a command was recorded but could not be published
"""

from __future__ import annotations

import sys
from pathlib import Path


class CentralError(Exception):
    """Base of every error raised by central's own code."""


class ConfigurationError(CentralError, ValueError):
    """The settings are incomplete or unsafe for a non-demo start."""


class StoreUnavailable(CentralError, ConnectionError):
    """The database is unreachable; the message being stored must not be acknowledged."""


class NotFound(CentralError, LookupError):
    """The named record does not exist."""


class InvalidRequest(CentralError, ValueError):
    """A service refused the request as given."""


class ImportRejected(InvalidRequest):
    """An import (enrolments, watchlist CSV) was refused whole; ``errors`` holds (row, place,
    message) for every bad row, where the place is a ``field`` or a CSV ``column`` (``where``)."""

    def __init__(self, source: str, errors: list[tuple[int, str, str]], *, where: str = "field") -> None:
        self.source = source
        self.errors = errors
        self.where = where
        first = f"row {errors[0][0]}, {where} {errors[0][1]!r}: {errors[0][2]}" if errors else "no detail"
        super().__init__(f"{source}: {len(errors)} error(s), nothing imported; first: {first}")


def read_import_file(path: Path, prog: str) -> str | None:
    """The text of an import file (a BOM tolerated), or None after saying why on stderr."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{prog}: cannot read {path}: {exc}", file=sys.stderr)
        return None


def report_rejected(path: Path, exc: ImportRejected, *, name_the_place: bool = True) -> None:
    """Every bad row of a refused import, on stderr, for the operator to fix the file:
    "row 3, column list: ..." (or "row 3, sex: ..." without ``name_the_place``)."""
    print(f"{path}: nothing imported, {len(exc.errors)} error(s):", file=sys.stderr)
    for row, place, message in exc.errors:
        where = f"{exc.where} {place}" if name_the_place else place
        print(f"  row {row}, {where}: {message}", file=sys.stderr)


class CommandNotSent(CentralError, ConnectionError):
    """A command was recorded and audited but the broker did not take it."""
