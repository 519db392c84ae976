"""``autogate central ...``: run the service or manage it.

    serve         web UI + JSON API (waitress) and the ingest worker, in one process
    ingest        the ingest worker only
    init-db       create the schema
    create-user   USERNAME --role ROLE (password from stdin, or generated and printed once)
    add-gate      GATE_ID --public-key B64 --direction departure|arrival [--name NAME]
    stats         counts (--json)
    public-key    print central's command-signing public key (gates need it)
    positions     USERNAME [POSITION ...]: the positions (jabatan) a user holds (central/cases/cli.py)
    holidays      list | add DAY NAME | remove DAY: the working-day calendar's public holidays
    office-sweep  notify overdue SOP steps and send queued messages once (serve does it on a timer)
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from central.db import Database
from central.errors import CentralError
from central.events import EventBus
from central.roles import Role
from central.settings import CentralSettings, load_settings

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate central", description="the central service")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="web UI, API and ingest worker in one process")
    sub.add_parser("ingest", help="the ingest worker only")
    sub.add_parser("init-db", help="create the database schema")
    user = sub.add_parser("create-user", help="create an officer account")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (else one is generated)"
    )
    gate = sub.add_parser("add-gate", help="register a gate (or rotate its key)")
    gate.add_argument("gate_id")
    gate.add_argument("--public-key", required=True, help="base64 Ed25519 public key of the gate")
    gate.add_argument("--direction", required=True, choices=["departure", "arrival"])
    gate.add_argument("--name", default="")
    st = sub.add_parser("stats", help="print counts")
    st.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("public-key", help="print central's public key")
    from central.cases.cli import add_parsers

    add_parsers(sub)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    session_secret, signing_key = _SECRETS_USED.get(args.command, (True, True))
    settings = load_settings("autogate central", session_secret=session_secret, signing_key=signing_key)
    if settings is None:
        return 2
    try:
        return _COMMANDS[args.command](settings, args)
    except CentralError as exc:
        print(f"autogate central: {exc}", file=sys.stderr)
        return 1


def _database(settings: CentralSettings) -> Database:
    """The database with every area's tables registered on the shared metadata."""
    import central.cases.models  # noqa: F401  (case tables join Base.metadata)
    import central.cctv.models  # noqa: F401  (CCTV tables join Base.metadata)
    import central.enrolments.models  # noqa: F401  (enrolment table joins Base.metadata)
    import central.watchlists.models  # noqa: F401  (watchlist tables join Base.metadata)

    return Database(settings.database_url)


def _init_db(settings: CentralSettings, _args: argparse.Namespace) -> int:
    database = _database(settings)
    revision = database.migrate()
    print(f"schema ready in {database!r} at revision {revision}")
    return 0


def _create_user(settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.services import audit, users

    generated = not args.password_stdin
    password = users.generate_password() if generated else sys.stdin.readline().rstrip("\n")
    database = Database(settings.database_url)
    with database.session() as session:
        users.create_user(session, args.username, args.role, password)
        audit.record(session, audit.Actor("cli", None), "user_create", f"user:{args.username}", {"role": args.role})
        session.commit()
    if generated:
        # Printed once, to the operator's terminal only; never logged.
        print(f"user {args.username} ({args.role}) created; password: {password}")
    else:
        print(f"user {args.username} ({args.role}) created")
    return 0


def _add_gate(settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.services import audit, gates

    database = Database(settings.database_url)
    with database.session() as session:
        gates.add_gate(session, args.gate_id, public_key_b64=args.public_key, direction=args.direction, name=args.name)
        audit.record(session, audit.Actor("cli", None), "gate_add", f"gate:{args.gate_id}", {"direction": args.direction})
        session.commit()
    print(f"gate {args.gate_id} registered")
    return 0


def _stats(settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.services.stats import stats

    database = Database(settings.database_url)
    with database.session() as session:
        result = stats(session)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def _public_key(settings: CentralSettings, _args: argparse.Namespace) -> int:
    from central.app import load_central_key

    if settings.central_key_file is None:
        print("autogate central: no central_key_file configured", file=sys.stderr)
        return 1
    print(load_central_key(settings).public.b64)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        # Not stop.set() here: it takes the Event's non-reentrant lock, which the interrupted
        # main thread may hold inside stop.wait(); setting it from a thread cannot deadlock.
        threading.Thread(target=stop.set, name="stop-signal", daemon=True).start()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _ingest(settings: CentralSettings, _args: argparse.Namespace) -> int:
    from central.buses import build_bus, close_bus
    from central.ingest.mqtt import IngestService

    database = _database(settings)
    database.migrate()
    bus = build_bus(settings)  # notices reach the consoles of the web processes
    service = IngestService(settings, database, bus=bus)
    stop = threading.Event()
    _stop_on_signals(stop)
    service.start()
    try:
        stop.wait()
    finally:
        service.stop()
        close_bus(bus)
        database.dispose()
        # What this worker did, for whoever runs several (docs/central.md, "Ingest at scale").
        log.info("ingest: stopped; counts %s", json.dumps(service.metrics.snapshot(), sort_keys=True))
    return 0


def _serve(settings: CentralSettings, _args: argparse.Namespace) -> int:
    import time

    from central.app import EXT_BUS, EXT_KEY, create_app, load_central_key
    from central.cases.notify import OfficeWorker, sender_from_settings
    from central.ingest.gaps import GapResolver
    from central.ingest.mqtt import IngestService
    from central.watchlists.stale import StaleListMonitor
    from central.cctv.monitor import CctvMonitor
    from central.cctv.views import EXT as EXT_CCTV
    from central.cctv.views import init_app as init_cctv
    from central.enrolments.views import init_app as init_enrolments
    from central.watchlists.views import init_app as init_watchlists

    from central.buses import build_bus, close_bus, start_bus

    database = _database(settings)
    database.migrate()
    # LocalBus on SQLite; LISTEN/NOTIFY on PostgreSQL, so a separate ingest process (or another
    # serve) reaches this process's consoles too.
    bus = build_bus(settings)
    start_bus(bus)
    service = IngestService(settings, database, bus=bus) if settings.ingest_enabled else None

    def publish_watchlist(topic: str, payload: bytes, retain: bool) -> None:
        assert service is not None
        service.publish(topic, payload, retain=retain)

    app = create_app(
        settings,
        database=database,
        central_key=load_central_key(settings),
        publisher=service,
        bus=bus,
        metrics=service.metrics if service else None,
        ingest_health=service.health if service else None,
        extensions=[
            lambda app: init_watchlists(app, publish=publish_watchlist if service else None),
            init_enrolments,
            lambda app: init_cctv(app, publish=publish_watchlist if service else None),
        ],
    )
    cctv_monitor = CctvMonitor(database, settings.cctv, key=app.extensions[EXT_KEY],
                               publish=publish_watchlist if service else None,
                               model=lambda: app.extensions[EXT_CCTV].model)
    stale_monitor = StaleListMonitor(database)
    # Overdue SOP steps notify their positions; queued applicant and officer messages go out.
    office_worker = OfficeWorker(database, sender_from_settings(settings.office),
                                 interval_s=settings.office.overdue_sweep_s, clock=time.time)
    # Asks gates to resend events that never arrived (holes and missing tails) from their outboxes.
    gap_resolver = (
        GapResolver(database, key=app.extensions[EXT_KEY], publisher=service) if service else None
    )
    server = http_server(app, host=settings.http.host, port=settings.http.port, threads=settings.http.threads,
                         connection_limit=settings.http.connection_limit)
    stop = threading.Event()
    _stop_on_signals(stop)
    if service is not None:
        service.start()
    stale_monitor.start()
    cctv_monitor.start()
    office_worker.start()
    if gap_resolver is not None:
        gap_resolver.start()
    thread = threading.Thread(target=server.run, name="central-http", daemon=True)
    thread.start()
    log.info("central serving on http://%s:%d", settings.http.host, settings.http.port)
    try:
        stop.wait()
    finally:
        close_http(server, app.extensions[EXT_BUS])
        stale_monitor.close()
        cctv_monitor.close()
        office_worker.stop()
        if gap_resolver is not None:
            gap_resolver.close()
        if service is not None:
            service.stop()
        close_bus(bus)
        thread.join(10)
        database.dispose()
    return 0


def http_server(app: Any, *, host: str, port: int, threads: int, **adjustments: Any) -> Any:
    """A waitress server for *app* whose loop waits with poll(2), not select(2).

    select() takes at most 1,024 descriptors (FD_SETSIZE), and every open console stream holds
    one. It also raises EBADF when a socket closes between the loop taking its list of sockets
    and the call, which is what ``close_http`` does from the stopping thread: the server thread
    died with a traceback at shutdown. poll() reports such a socket as invalid and the loop
    passes over it."""
    from waitress.server import create_server

    return create_server(app, host=host, port=port, threads=threads, asyncore_use_poll=True, **adjustments)


def close_http(server: Any, bus: EventBus) -> None:
    """Stop a waitress *server* without cutting open console streams mid-write: end the streams
    (they return at once instead of waiting for their next heartbeat), let waitress's worker
    threads finish the responses they are writing, then close the sockets. Closed first, a
    stream's next heartbeat wrote into the closed server and logged a traceback."""
    bus.close_subscriptions()
    server.task_dispatcher.shutdown(timeout=5)
    server.close()


# (web session secret, signing key) each command uses; a command not listed is asked for both.
_SECRETS_USED: dict[str, tuple[bool, bool]] = {
    "serve": (True, True),
    "ingest": (False, False),
    "init-db": (False, False),
    "create-user": (False, False),
    "add-gate": (False, False),
    "stats": (False, False),
    "public-key": (False, True),
}

_COMMANDS = {
    "serve": _serve,
    "ingest": _ingest,
    "init-db": _init_db,
    "create-user": _create_user,
    "add-gate": _add_gate,
    "stats": _stats,
    "public-key": _public_key,
}


def _office(name: str) -> Any:
    def run(settings: CentralSettings, args: argparse.Namespace) -> int:
        from central.cases.cli import COMMANDS

        return COMMANDS[name](settings, args)

    return run


_COMMANDS.update({name: _office(name) for name in ("positions", "holidays", "office-sweep")})
