"""``autogate watchlist ...`` at central: import a CSV, publish to gates, list versions, check gates.

    import FILE.csv [--by USER] [--replace] [--publish]   one new version, or nothing (all-or-nothing)
    publish                                                signed notice, delta and chunks to the broker
    versions [--json]                                      the version history
    check-stale [--grace-s S]                              raise alerts for gates on an old list

Settings are central's (``AUTOGATE_CENTRAL_*``). ``main(argv)`` is the entry point;
``register_cli(subparsers)`` adds the same commands under another parser (``autogate central``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


from central.db import Database
from central.errors import CentralError, CommandNotSent, ImportRejected, read_import_file, report_rejected
from central.services.audit import Actor
from central.settings import CentralSettings, load_settings
from central.watchlists import csvimport, publisher, service, stale

log = logging.getLogger(__name__)

# The sub-commands this module owns; ``autogate watchlist`` also has the gate-side ``screen`` and
# ``check-csv`` (edge.watchlist.cli), so the dispatcher routes these names here.
COMMANDS = frozenset({"import", "publish", "versions", "check-stale"})


def register_cli(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser("import", help="import a watchlist CSV as one new version (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--by", default=None, help="the officer responsible (recorded in the audit log)")
    imp.add_argument("--replace", action="store_true",
                     help="deactivate entries of the file's lists that the file no longer holds")
    imp.add_argument("--publish", action="store_true", help="publish the new version to gates at once")
    sub.add_parser("publish", help="publish the current version to gates (retained, signed)")
    ver = sub.add_parser("versions", help="list watchlist versions")
    ver.add_argument("--json", action="store_true")
    chk = sub.add_parser("check-stale", help="alert on gates that run an old watchlist")
    chk.add_argument("--grace-s", type=float, default=stale.DEFAULT_GRACE_S)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate watchlist", description="central watchlist management")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    register_cli(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Only publishing signs anything; no command here serves the web UI.
    signs = args.command == "publish" or (args.command == "import" and args.publish)
    settings = load_settings("autogate watchlist", session_secret=False, signing_key=signs)
    if settings is None:
        return 2
    return run(settings, args)


def run(settings: CentralSettings, args: argparse.Namespace, *, publish: publisher.PublishFn | None = None,
        clock: Callable[[], float] = time.time) -> int:
    """Execute parsed *args*; *publish* replaces the broker connection (tests)."""
    import central.watchlists.models  # noqa: F401  (the tables join Base.metadata)

    database = Database(settings.database_url)
    database.migrate()
    try:
        if args.command == "import":
            code = _import(database, args)
            if code == 0 and args.publish:
                code = _publish(settings, database, publish, clock)
            return code
        if args.command == "publish":
            return _publish(settings, database, publish, clock)
        if args.command == "versions":
            return _versions(database, args)
        if args.command == "check-stale":
            return _check_stale(database, args, clock)
        raise AssertionError(args.command)
    except CentralError as exc:
        print(f"autogate watchlist: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def _import(database: Database, args: argparse.Namespace) -> int:
    text = read_import_file(args.file, "autogate watchlist")
    if text is None:
        return 2
    actor = Actor(username=args.by, role="cli")
    with database.session() as session:
        try:
            result = csvimport.import_csv(session, text, actor, source=args.file.name, replace=args.replace)
        except ImportRejected as exc:
            session.commit()  # the audit entry of the refusal
            report_rejected(args.file, exc)
            return 1
        session.commit()
    version = result.version if result.version is not None else "unchanged"
    print(f"{args.file}: {len(result.added)} added, {len(result.updated)} updated, {len(result.removed)} deactivated, "
          f"{result.unchanged} unchanged; version {version}")
    return 0


def _publish(settings: CentralSettings, database: Database, publish: publisher.PublishFn | None,
             clock: Callable[[], float]) -> int:
    from central.app import load_central_key

    key = load_central_key(settings)
    client = None
    if publish is None:
        client = _connect(settings)
        publish = publisher.paho_publisher(client)
    try:
        with database.session() as session:
            done = publisher.publish_current(session, key=key, publish=publish, now_ms=int(clock() * 1000))
            session.commit()
    finally:
        if client is not None:
            client.disconnect()
            client.loop_stop()
    print(f"published watchlist version {done.version}: {done.entries} entries, {done.chunks} chunk(s), "
          f"delta {'yes' if done.delta_sent else 'no'}, sha256 {done.sha256}")
    return 0


def _connect(settings: CentralSettings, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    """A short-lived paho client of its own id, so the ingest worker's session is left alone."""
    import ssl
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    mq = settings.mqtt
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{mq.client_id}-watchlist"[:64], clean_session=True)
    if mq.username:
        client.username_pw_set(mq.username, mq.password.get_secret_value() if mq.password else None)
    if mq.tls:
        client.tls_set(ca_certs=str(mq.ca_file) if mq.ca_file else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
    try:
        client.connect(mq.host, mq.port, keepalive=mq.keepalive_s)
    except OSError as exc:
        raise CommandNotSent(f"broker {mq.host}:{mq.port} unreachable: {exc}") from exc
    client.loop_start()
    if not connected.wait(timeout_s):
        client.loop_stop()
        raise CommandNotSent(f"broker {mq.host}:{mq.port} did not accept the connection")
    return client


def _versions(database: Database, args: argparse.Namespace) -> int:
    with database.session() as session:
        rows = [service.version_view(v) for v in service.list_versions(session, limit=1000)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for v in rows:
        published = v["published_at"] or "not published"
        print(f"{v['version']:>6}  {v['created_at']}  {v['created_by'] or '-':<16} {v['entries']:>7} entries  "
              f"{published}  {v['summary']}")
    return 0


def _check_stale(database: Database, args: argparse.Namespace, clock: Callable[[], float]) -> int:
    with database.session() as session:
        alerts = stale.check_stale_gates(session, now=datetime.fromtimestamp(clock(), tz=UTC), grace_s=args.grace_s)
        session.commit()
        for alert in alerts:
            print(alert.message)
    print(f"{len(alerts)} new stale-watchlist alert(s)")
    return 0
