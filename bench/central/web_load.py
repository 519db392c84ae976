"""Central's web side under console load: open event streams, /healthz, and a page mix.

    .venv/bin/python -m bench.central.web_load [--server gunicorn|waitress] [--consoles 200]
        [--users 50] [--seconds 30] [--think-s 1.0] [--workers 4]

Starts central as a real server process on PostgreSQL (a fresh schema, seeded with two days of
a 20-gate hall and dropped afterwards): ``gunicorn`` runs central/wsgi.py on gevent workers
(``make serve``), ``waitress`` runs ``autogate central serve`` (the zero-setup path, ingest off).
Then, from this process, over loopback:

1. opens ``--consoles`` console streams (GET /console/stream, signed in as supervisors) and holds
   them; under waitress all but ``http.max_streams`` are refused with 503 (they would poll);
2. times ``/healthz`` (sequential, one keep-alive connection) with the streams open;
3. runs ``--users`` signed-in users for ``--seconds``, each looping over a supervisor's page mix
   (console page, live view, alerts, gates, reports, cases) with ``--think-s`` seconds (mean,
   exponential) between requests, the streams still open, and times every request.

Figures: ``central.web.<server>.streams_open``, ``...healthz_p50_ms``/``healthz_p99_ms``,
``...page.<page>.p99_ms`` per page, and ``...pages_p50_ms``/``pages_p99_ms`` over all of them.
The client runs on the same machine as the server: on a loaded 2-core machine the figures are
pessimistic (the machine line of ``make bench`` says how loaded).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.central.seed import seed
from bench.central.web_client import ConsoleUser, EventStream
from bench.figures import emit

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("AUTOGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-password-not-secret"
# (name, path, weight): what a supervisor's browser asks for. With a stream open the console page
# re-reads /console/live every 30 s; without one it polls every 2 s; reports now and then.
PAGE_MIX = (
    ("console", "/console", 2),
    ("console_live", "/console/live", 6),
    ("api_alerts", "/api/v1/alerts?limit=50", 2),
    ("api_gates", "/api/v1/gates", 2),
    ("cases", "/cases", 1),
    ("reports_daily", "/reports/daily", 1),
    ("api_reports_daily", "/api/v1/reports/daily", 1),
    ("crossing_search", "/reports/crossings?name=RAHAYU", 1),
    ("reports_gates", "/reports/gates", 1),
)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _schema() -> tuple[str, callable]:
    import psycopg

    plain = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_web_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{POSTGRES}?options=-csearch_path%3D{schema}", drop


def _prepare(url: str, users: int) -> list[str]:
    from argon2 import PasswordHasher

    from central.db import Database, metadata
    from central.models import User

    metadata()
    database = Database(url)
    database.migrate()
    today = (datetime.now(UTC) + timedelta(hours=7)).date()
    counts = seed(database, gates=20, days=2, travellers_per_gate_day=40, last_day=today)
    print(f"seeded {counts}", file=sys.stderr)
    # Cheap hashes: the bench measures pages, not argon2 (the verifier reads the parameters from the hash).
    hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    names = [f"bench-spv-{n:03d}" for n in range(users)]
    with database.session() as session:
        session.add_all(User(username=n, role="supervisor", password_hash=hashed, active=True) for n in names)
        session.commit()
    database.dispose()
    return names


def _server(kind: str, url: str, port: int, workers: int, tmp: Path) -> subprocess.Popen:
    from protocol import generate_keypair

    key_file = tmp / "central.key"
    generate_keypair().save(key_file)
    env = {
        **os.environ,
        "AUTOGATE_CENTRAL_DATABASE_URL": url,
        "AUTOGATE_CENTRAL_SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
        "AUTOGATE_CENTRAL_CENTRAL_KEY_FILE": str(key_file),
        "AUTOGATE_CENTRAL_INGEST_ENABLED": "false",
        "AUTOGATE_CENTRAL_BUS__CHANNEL": f"bench_{uuid.uuid4().hex[:10]}",
        # No broker is needed for pages; the web publisher retries in the background.
        "AUTOGATE_CENTRAL_MQTT__PORT": os.environ.get("AUTOGATE_TEST_MOSQUITTO_PORT", "1883"),
    }
    log = (tmp / f"{kind}.log").open("wb")
    if kind == "gunicorn":
        args = [sys.executable, "-m", "gunicorn", "-c", "python:central.gunicorn_conf", "--workers", str(workers),
                "central.wsgi:create_application()"]
        env["AUTOGATE_WEB_BIND"] = f"127.0.0.1:{port}"
        env["AUTOGATE_WEB_LOG_LEVEL"] = "warning"
    else:
        args = [sys.executable, "-m", "autogate", "central", "--log-level", "WARNING", "serve"]
        env["AUTOGATE_CENTRAL_HTTP__PORT"] = str(port)
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if ConsoleUser("127.0.0.1", port, timeout_s=2).timed_get("/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server never answered /healthz")


def _user_loop(user: ConsoleUser, until: float, think_s: float, rng: random.Random,
               out: dict[str, list[float]], errors: list[str], lock: threading.Lock, skip: frozenset[str]) -> None:
    names = [p for p in PAGE_MIX for _ in range(p[2]) if p[0] not in skip]
    while time.monotonic() < until:
        name, path, _w = rng.choice(names)
        try:
            status, ms = user.timed_get(path)
        except OSError as exc:
            with lock:
                errors.append(f"{name}: {type(exc).__name__}")
            continue
        with lock:
            if status == 200:
                out[name].append(ms)
            else:
                errors.append(f"{name}: {status}")
        time.sleep(rng.expovariate(1 / think_s) if think_s > 0 else 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn")
    parser.add_argument("--consoles", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--think-s", type=float, default=1.0)
    parser.add_argument("--healthz", type=int, default=300, help="/healthz requests with the streams open")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--skip", nargs="*", default=[], choices=[p[0] for p in PAGE_MIX],
                        help="pages left out of the mix (to see what one page costs the others)")
    args = parser.parse_args(argv)
    prefix = f"central.web.{args.server}"

    url, drop = _schema()
    tmp = Path(tempfile.mkdtemp(prefix="autogate-bench-web-"))
    proc = None
    streams: list[EventStream] = []
    try:
        names = _prepare(url, args.users)
        port = _free_port()
        proc = _server(args.server, url, port, args.workers, tmp)
        _wait_healthy(port, proc)
        users = []
        for name in names:
            user = ConsoleUser("127.0.0.1", port)
            user.login(name, PASSWORD)
            users.append(user)
        print(f"{len(users)} users signed in", file=sys.stderr)

        for n in range(args.consoles):
            streams.append(EventStream("127.0.0.1", port, users[n % len(users)].cookie))
        for stream in streams:
            stream.opened.wait(30)
        open_streams = sum(1 for s in streams if s.status == 200 and not s.ended.is_set())
        refused = sum(1 for s in streams if s.status == 503)
        print(f"streams: {open_streams} open, {refused} refused (503)", file=sys.stderr)
        emit(f"{prefix}.streams_open", open_streams, "count", asked=args.consoles, refused_503=refused)

        probe = ConsoleUser("127.0.0.1", port, timeout_s=10)
        healthz = []
        for _ in range(args.healthz):
            status, ms = probe.timed_get("/healthz")
            if status == 200:
                healthz.append(ms)
        emit(f"{prefix}.healthz_p50_ms", round(statistics.median(healthz), 1), "ms", streams_open=open_streams,
             requests=args.healthz, answered=len(healthz))
        emit(f"{prefix}.healthz_p99_ms", round(percentile(healthz, 0.99), 1), "ms", streams_open=open_streams,
             requests=args.healthz, answered=len(healthz))
        print(f"/healthz with {open_streams} streams: p50 {statistics.median(healthz):.1f} ms, "
              f"p99 {percentile(healthz, 0.99):.1f} ms", file=sys.stderr)

        out: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        lock = threading.Lock()
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=_user_loop, args=(u, until, args.think_s, random.Random(i), out, errors, lock,
                                                         frozenset(args.skip)))
                   for i, u in enumerate(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        every = [ms for values in out.values() for ms in values]
        for name, _path, _w in PAGE_MIX:
            if name in args.skip:
                continue
            values = out.get(name, [])
            print(f"  {name:18} n={len(values):5} p50 {percentile(values, 0.5) or 0:7.1f} ms  "
                  f"p99 {percentile(values, 0.99) or 0:7.1f} ms", file=sys.stderr)
            emit(f"{prefix}.page.{name}.p99_ms", round(percentile(values, 0.99) or 0, 1), "ms",
                 p50_ms=round(percentile(values, 0.5) or 0, 1), requests=len(values), users=args.users,
                 streams_open=open_streams)
        emit(f"{prefix}.pages_p50_ms", round(percentile(every, 0.5), 1), "ms", requests=len(every), users=args.users)
        emit(f"{prefix}.pages_p99_ms", round(percentile(every, 0.99), 1), "ms", requests=len(every), users=args.users,
             skipped=args.skip,
             errors=len(errors), think_s=args.think_s, seconds=args.seconds, streams_open=open_streams)
        print(f"pages: {len(every)} requests, p50 {percentile(every, 0.5):.1f} ms, p99 {percentile(every, 0.99):.1f} ms, "
              f"{len(errors)} errors {sorted(set(errors))[:5]}", file=sys.stderr)
        for user in users:
            user.close()
    finally:
        for stream in streams:
            stream.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
