"""CCTV management at central from the command line (settings are central's, ``AUTOGATE_CENTRAL_*``).

    autogate watchlist faces import DIR [--by USER] [--allow-quality] [--publish]
        DIR holds one folder per watchlist entry (named by its entry id) with photos of that person;
        every photo is checked and enrolled, refused photos are listed; one new face list version
    autogate watchlist faces publish          the newest face list to the cameras (retained, signed)
    autogate watchlist faces versions [--json]
    autogate cctv add-camera CAMERA --public-key B64 [--name N] [--location L]   register or rotate a key
    autogate cctv cameras [--json]

Exit status: 0 done, 1 refused (or some photos refused on import), 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from central.db import Database
from central.errors import CentralError
from central.services.audit import Actor
from central.settings import CentralSettings, load_settings

log = logging.getLogger(__name__)

# The (group, sub-command) pairs ``autogate`` routes here (autogate/cli.py SPLIT_GROUPS): the
# watchlist's photos at central, and camera registration beside the camera node's own ``run``.
COMMANDS = frozenset({("watchlist", "faces"), ("cctv", "add-camera"), ("cctv", "cameras")})


def _parser(prog: str = "autogate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="CCTV face recognition at central")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)
    faces = sub.add_parser("faces", help="the face watchlist (photos of watchlist entries)")
    fsub = faces.add_subparsers(dest="faces_command", required=True)
    imp = fsub.add_parser("import", help="enrol the photos of DIR/<entry id>/ (one version)")
    imp.add_argument("folder", type=Path)
    imp.add_argument("--by", default=None, help="the officer responsible (recorded in the audit log)")
    imp.add_argument("--allow-quality", action="store_true", help="enrol photos despite quality reasons (recorded)")
    imp.add_argument("--publish", action="store_true", help="publish the new version to the cameras at once")
    fsub.add_parser("publish", help="publish the newest face list version (retained, signed)")
    ver = fsub.add_parser("versions", help="list face list versions")
    ver.add_argument("--json", action="store_true")
    cam = sub.add_parser("add-camera", help="register a camera node (or rotate its key)")
    cam.add_argument("camera_id")
    cam.add_argument("--public-key", required=True, help="base64 Ed25519 public key of the camera node")
    cam.add_argument("--name", default="")
    cam.add_argument("--location", default="")
    lst = sub.add_parser("cameras", help="list camera nodes and their health")
    lst.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    args = _parser("autogate watchlist" if argv[:1] == ["faces"] else "autogate cctv").parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Only publishing the face list signs anything; no command here serves the web UI.
    signs = getattr(args, "faces_command", None) == "publish" or bool(getattr(args, "publish", False))
    settings = load_settings("autogate cctv", session_secret=False, signing_key=signs)
    if settings is None:
        return 2
    return run(settings, args)


def run(settings: CentralSettings, args: argparse.Namespace, *, publish: Callable[[str, bytes, bool], None] | None = None,
        engine_factory: Callable[[], object] | None = None, clock: Callable[[], float] = time.time) -> int:
    """Execute parsed *args*; *publish* and *engine_factory* replace the broker and the models (tests)."""
    import central.cctv.models  # noqa: F401

    database = Database(settings.database_url)
    database.migrate()
    try:
        if args.command == "add-camera":
            return _add_camera(database, args)
        if args.command == "cameras":
            return _cameras(database, args)
        if args.faces_command == "import":
            code = _import(settings, database, args, engine_factory)
            if code in (0, 1) and args.publish:
                code = max(code, _publish(settings, database, publish, engine_factory, clock))
            return code
        if args.faces_command == "publish":
            return _publish(settings, database, publish, engine_factory, clock)
        return _versions(database, args)
    except CentralError as exc:
        print(f"autogate: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def _engine(settings: CentralSettings, factory: Callable[[], object] | None):  # type: ignore[no-untyped-def]
    if factory is not None:
        return factory()
    from edge.face import FaceEngine

    return FaceEngine.from_models(embedder_model=settings.cctv.face_embedder)


def _import(settings: CentralSettings, database: Database, args: argparse.Namespace,
            engine_factory: Callable[[], object] | None) -> int:
    from central.cctv import faces

    if not args.folder.is_dir():
        print(f"autogate watchlist faces import: {args.folder} is not a folder", file=sys.stderr)
        return 2
    engine = _engine(settings, engine_factory)
    with database.session() as session:
        report = faces.import_folder(session, engine, args.folder, Actor(username=args.by, role="cli"),
                                     settings=settings.cctv, allow_quality=args.allow_quality)
        session.commit()
    for path, why in report.problems:
        print(f"  refused {path}: {why}", file=sys.stderr)
    version = report.version if report.version is not None else "unchanged"
    print(f"{args.folder}: {len(report.enrolled)} photo(s) enrolled, {len(report.problems)} refused; "
          f"face list version {version}")
    return 1 if report.problems else 0


def _publish(settings: CentralSettings, database: Database, publish: Callable[[str, bytes, bool], None] | None,
             engine_factory: Callable[[], object] | None, clock: Callable[[], float]) -> int:
    from central.app import load_central_key
    from central.cctv import faces, publisher
    from central.watchlists import publisher as watchlist_publisher
    from central.watchlists.cli import _connect

    key = load_central_key(settings)
    model = getattr(_engine(settings, engine_factory), "model_tag") if engine_factory else faces.model_tag_for(settings.cctv)
    client = None
    if publish is None:
        client = _connect(settings)
        publish = watchlist_publisher.paho_publisher(client)
    try:
        with database.session() as session:
            faces.commit_version(session, Actor("cli", "cli"), "in line with the watchlist", settings=settings.cctv,
                                 model=model)
            done = publisher.publish_current(session, key=key, publish=publish, now_ms=int(clock() * 1000), model=model)
            session.commit()
    finally:
        if client is not None:
            client.disconnect()
            client.loop_stop()
    print(f"published face list version {done.version}: {done.templates} templates, {done.chunks} chunk(s), "
          f"delta {'yes' if done.delta_sent else 'no'}, sha256 {done.sha256}")
    return 0


def _versions(database: Database, args: argparse.Namespace) -> int:
    from central.cctv import faces

    with database.session() as session:
        rows = [faces.version_view(v) for v in faces.list_versions(session, limit=1000)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for v in rows:
        print(f"{v['version']:>6}  {v['created_at']}  {v['created_by'] or '-':<16} {v['templates']:>7} templates "
              f"{v['entries']:>6} entries  {v['published_at'] or 'not published'}  {v['summary']}")
    return 0


def _add_camera(database: Database, args: argparse.Namespace) -> int:
    from central.cctv import cameras
    from central.services import audit

    with database.session() as session:
        cameras.add_camera(session, args.camera_id, public_key_b64=args.public_key, name=args.name,
                           location=args.location)
        audit.record(session, Actor("cli", None), "camera_add", f"camera:{args.camera_id}",
                     {"name": args.name, "location": args.location})
        session.commit()
    print(f"camera {args.camera_id} registered")
    return 0


def _cameras(database: Database, args: argparse.Namespace) -> int:
    from central.cctv import cameras

    with database.session() as session:
        rows = [cameras.camera_view(c) for c in cameras.list_cameras(session)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for c in rows:
        print(f"{c['id']:<20} {'online' if c['online'] else 'offline':<8} face list {c['face_list_version']}  "
              f"{c['name']} {c['location']}")
    return 0
