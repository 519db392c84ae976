"""``autogate audit ...``: check central's audit log.

    verify    walk the hash chain; exit 1 naming the first removed, altered or reordered entry

It needs only the database (``AUTOGATE_CENTRAL_DATABASE_URL`` or ``--database-url``), not the
session secret or the signing key: an auditor can run it with read access alone.
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import SQLAlchemyError


class _DatabaseOnly(BaseSettings):
    """The one central setting this command reads (same variable as ``autogate central``)."""

    model_config = SettingsConfigDict(env_prefix="AUTOGATE_CENTRAL_", extra="ignore")

    database_url: str = Field("sqlite:///instance/central.db")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate audit", description="check central's audit log")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="walk the audit log's hash chain; exit 1 at the first broken entry")
    verify.add_argument("--database-url", help="SQLAlchemy URL (default: AUTOGATE_CENTRAL_DATABASE_URL)")
    verify.add_argument("--json", action="store_true", help="print the verdict as one JSON line")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from central.db import Database
    from central.services.audit_chain import verify

    url = args.database_url or _DatabaseOnly().database_url
    database = Database(url)
    try:
        with database.session() as session:
            verdict = verify(session)
    except SQLAlchemyError as exc:
        print(f"autogate audit: cannot read the audit log in {database!r}: {type(exc).__name__}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    if args.json:
        print(json.dumps({"ok": verdict.ok, "entries": verdict.entries, "problem": verdict.problem or None,
                          "entry_id": verdict.entry_id, "seq": verdict.seq}))
    elif verdict.ok:
        print(f"audit log intact: {verdict.entries} entries, chain unbroken")
    else:
        print(f"audit log BROKEN: {verdict.problem}", file=sys.stderr)
    return 0 if verdict.ok else 1
