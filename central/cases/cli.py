"""The back office's ``autogate central`` subcommands (registered by ``central.cli``).

    positions USERNAME [POSITION ...] [--email E] [--phone P]   show or set the positions a user holds
    positions --list                                             every assignable position
    holidays list [--year Y] | add YYYY-MM-DD NAME | remove YYYY-MM-DD
    office-sweep                                                 notify overdue steps, send queued messages once
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from central.cases.errors import CaseError
from central.services.audit import Actor
from central.settings import CentralSettings
from central.workflows import positions as vocabulary


def add_parsers(sub: Any) -> None:
    pos = sub.add_parser("positions", help="show or set the positions (jabatan) a user holds")
    pos.add_argument("username", nargs="?")
    pos.add_argument("position", nargs="*", help="the positions to hold (replaces the current ones)")
    pos.add_argument("--list", action="store_true", help="list every assignable position")
    pos.add_argument("--keep", action="store_true", help="add the positions given instead of replacing")
    pos.add_argument("--email", default=None, help="where overdue notices go by e-mail")
    pos.add_argument("--phone", default=None, help="where overdue notices go by WhatsApp")
    pos.add_argument("--by", default="cli", help="the administrator responsible (audit log)")
    hol = sub.add_parser("holidays", help="the public holidays the working-day calendar skips")
    hol.add_argument("action", choices=["list", "add", "remove"])
    hol.add_argument("day", nargs="?", help="YYYY-MM-DD")
    hol.add_argument("name", nargs="*", help="the holiday's name (add)")
    hol.add_argument("--year", type=int, default=None)
    hol.add_argument("--by", default="cli")
    sub.add_parser("office-sweep", help="notify overdue SOP steps and send queued messages, once (for cron)")


def _database(settings: CentralSettings) -> Any:
    from central.db import Database

    database = Database(settings.database_url)
    database.migrate()
    return database


def positions(settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.cases import positions as holders

    if args.list or not args.username:
        for spec in vocabulary.POSITIONS:
            if spec.assignable:
                print(f"{spec.key:<20} {spec.title_en} ({spec.title_id})")
        return 0
    database = _database(settings)
    try:
        with database.session() as session:
            actor = Actor(args.by, None)
            if args.position:
                wanted = list(args.position)
                if args.keep:
                    wanted = [*holders.positions_of(session, args.username), *wanted]
                holders.set_positions(session, args.username, wanted, actor)
            if args.email is not None or args.phone is not None:
                holders.set_contact(session, args.username, email=args.email, phone=args.phone, actor=actor)
            session.commit()
            held = sorted(holders.positions_of(session, args.username))
    except CaseError as exc:
        print(f"autogate central positions: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"{args.username}: {', '.join(held) or 'no position'}")
    return 0


def holidays(settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.cases import calendar_store

    database = _database(settings)
    try:
        with database.session() as session:
            if args.action == "list":
                for row in calendar_store.holidays(session, args.year):
                    print(f"{row.day.isoformat()}  {row.name}")
                return 0
            try:
                day = date.fromisoformat(args.day or "")
            except ValueError:
                print("autogate central holidays: give the day as YYYY-MM-DD", file=sys.stderr)
                return 2
            if args.action == "add":
                calendar_store.add_holiday(session, day, " ".join(args.name), Actor(args.by, None))
            else:
                calendar_store.remove_holiday(session, day, Actor(args.by, None))
            session.commit()
    except CaseError as exc:
        print(f"autogate central holidays: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"holiday {args.action}: {args.day}")
    return 0


def office_sweep(settings: CentralSettings, _args: argparse.Namespace) -> int:
    import time

    from central.cases.notify import OfficeWorker, sender_from_settings

    database = _database(settings)
    try:
        worker = OfficeWorker(database, sender_from_settings(settings.office), interval_s=settings.office.overdue_sweep_s,
                              clock=time.time)
        notices, sent = worker.run_once()
    finally:
        database.dispose()
    print(f"{notices} overdue notices, {sent} messages sent")
    return 0


COMMANDS = {"positions": positions, "holidays": holidays, "office-sweep": office_sweep}
