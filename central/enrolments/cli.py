"""``autogate enrolment ...`` at central.

    import FILE [--format jsonl|csv] [--by USER]   all or nothing; re-enrolling a document replaces it
    deactivate ID --reason TEXT [--by USER]         withdraw one enrolment (its templates are wiped)
    show DOCUMENT_NUMBER [--issuing-state XXX]      identities and template digests, never templates

Settings are central's (``AUTOGATE_CENTRAL_*``). ``main(argv)`` is the entry point.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


from central.db import Database
from central.enrolments import importer, service
from central.errors import CentralError, ImportRejected, read_import_file, report_rejected
from central.services.audit import Actor
from central.settings import CentralSettings, load_settings

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate enrolment", description="central enrolment management")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import a JSON-lines or CSV file of enrolments (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", choices=["jsonl", "csv"], default=None, help="default: from the file name")
    imp.add_argument("--by", default=None, help="the officer responsible (recorded in the audit log)")
    deact = sub.add_parser("deactivate", help="withdraw an enrolment")
    deact.add_argument("id", type=int)
    deact.add_argument("--reason", required=True)
    deact.add_argument("--by", default=None)
    show = sub.add_parser("show", help="list a document's active enrolments (no templates)")
    show.add_argument("document_number")
    show.add_argument("--issuing-state", default=None)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings("autogate enrolment", session_secret=False, signing_key=False)  # database only
    if settings is None:
        return 2
    return run(settings, args)


def run(settings: CentralSettings, args: argparse.Namespace) -> int:
    import central.enrolments.models  # noqa: F401  (the table joins Base.metadata)

    database = Database(settings.database_url)
    database.migrate()
    try:
        if args.command == "import":
            return _import(database, args)
        with database.session() as session:
            if args.command == "deactivate":
                service.deactivate(session, args.id, Actor(username=args.by, role="cli"), args.reason)
                session.commit()
                print(f"enrolment {args.id} deactivated")
                return 0
            rows = service.lookup(session, args.document_number, args.issuing_state)
            print(json.dumps([service.officer_view(r) for r in rows], indent=2))
            return 0 if rows else 1
    except CentralError as exc:
        print(f"autogate enrolment: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def _import(database: Database, args: argparse.Namespace) -> int:
    text = read_import_file(args.file, "autogate enrolment")
    if text is None:
        return 2
    fmt = args.format or importer.guess_format(args.file.name, text)
    with database.session() as session:
        try:
            counts = service.import_items(session, importer.read(text, fmt), Actor(username=args.by, role="cli"),
                                          source_name=args.file.name)
        except ImportRejected as exc:
            session.commit()  # the audit entry of the refusal
            report_rejected(args.file, exc, name_the_place=False)
            return 1
        session.commit()
    print(f"{args.file}: {counts['imported']} imported, {counts['replaced']} replaced")
    return 0
