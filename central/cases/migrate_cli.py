"""``autogate sop migrate-case CASE --to-version N``: move an open case to another installed version.

Cases continue on the workflow version they were opened with (kept under
``central/workflows/definitions/retired/``). When that version is not installed, the case page
says so and points here: an administrator moves the case, at its current step when the target
version has a step of that id, else at the step named with ``--at-step``. The history stays as it
was recorded; the move is audited (``case_migrated``, with ``--by`` as the administrator).
"""

from __future__ import annotations

import argparse
import sys
import time

from central.cases.errors import CaseError
from central.services.audit import Actor

PROG = "autogate sop migrate-case"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="move an open case to another installed version of its SOP")
    parser.add_argument("case", type=int, help="the case number")
    parser.add_argument("--to-version", type=int, required=True, help="an installed version of the case's workflow")
    parser.add_argument("--at-step", default=None,
                        help="the step it goes on at, when the target version has no step of the current step's id")
    parser.add_argument("--by", default="cli", help="the administrator responsible (audit log)")
    return parser


def main(argv: list[str]) -> int:
    if argv[:1] == ["migrate-case"]:  # as dispatched by ``autogate sop`` (autogate.cli SPLIT_GROUPS)
        argv = argv[1:]
    args = _parser().parse_args(argv)
    from central.cases import service
    from central.cases.cli import _database
    from central.settings import load_settings

    settings = load_settings(PROG)
    if settings is None:
        return 2
    database = _database(settings)
    try:
        with database.session() as session:
            row = service.migrate_case(session, args.case, to_version=args.to_version, at_step=args.at_step,
                                       actor=Actor(args.by, None), now_ms=int(time.time() * 1000))
            session.commit()
            print(f"case {row.id}: {row.workflow_id} v{row.version}, at step {row.current_step}")
    except CaseError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0
