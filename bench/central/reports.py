"""Report endpoints with no load: how long each takes on a week of a hall's history.

    .venv/bin/python -m bench.central.reports [--database postgresql|sqlite] [--gates 20] [--days 7]
        [--travellers 60] [--repeats 7]

Seeds a fresh PostgreSQL schema (dropped afterwards) or SQLite file through the migrations
(bench/central/seed.py: gates x days x travellers, a dozen gate events each), then times each
report page and API answer in-process (Flask's test client: no HTTP, no other request), signed in
as a supervisor. One figure per endpoint: ``central.reports.<endpoint>.median_ms`` (with p_max).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.central.seed import seed
from bench.figures import emit

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENDPOINTS = {
    "daily_page": "/reports/daily?day={today}",
    "gates_page": "/reports/gates",
    "api_daily": "/api/v1/reports/daily?day={today}",
    "api_gate_stats": "/api/v1/stats/gates",
    "api_stats": "/api/v1/stats",
    "crossing_search": "/reports/crossings?name=RAHAYU&date_from={week_ago}",
    "sla_page": "/sla",
}


def _postgres_schema() -> tuple[str, callable]:
    import psycopg

    plain = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_reports_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{POSTGRES}?options=-csearch_path%3D{schema}", drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--gates", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--travellers", type=int, default=60, help="per gate and day")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from central.app import create_app
    from central.db import Database, metadata
    from central.models import User
    from central.settings import CentralSettings
    from central.views.reports import today_wib  # noqa: F401  (the app's notion of today)

    tmp = tempfile.TemporaryDirectory(prefix="autogate-bench-reports-")
    if args.database == "postgresql":
        url, drop = _postgres_schema()
    else:
        url, drop = f"sqlite:///{Path(tmp.name) / 'central.db'}", (lambda: None)
    try:
        metadata()
        database = Database(url)
        database.migrate()
        wib_today = (datetime.now(UTC) + timedelta(hours=7)).date()
        t0 = time.perf_counter()
        counts = seed(database, gates=args.gates, days=args.days, travellers_per_gate_day=args.travellers,
                      last_day=wib_today)
        print(f"seeded {counts} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        with database.engine.begin() as conn:  # fresh statistics, as autovacuum would have them
            if args.database == "postgresql":
                conn.exec_driver_sql("ANALYZE")
        with database.session() as session:
            user = User(username="bench-spv", role="supervisor", password_hash="x", active=True)
            session.add(user)
            session.commit()
            user_id = user.id
        app = create_app(CentralSettings(demo_mode=True, database_url=url), database=database)
        client = app.test_client()
        with client.session_transaction() as s:
            s["user_id"], s["role"], s["csrf_token"] = user_id, "supervisor", "x"
        week_ago = (wib_today - timedelta(days=6)).isoformat()
        for name, template in ENDPOINTS.items():
            path = template.format(today=wib_today.isoformat(), week_ago=week_ago)
            response = client.get(path)  # warm: templates compiled, connection pooled
            if response.status_code != 200:
                print(f"{path}: {response.status_code}", file=sys.stderr)
                return 1
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - t) * 1000)
            print(f"{name:16} {path:48} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms",
                  file=sys.stderr)
            emit(f"central.reports.{name}.median_ms", round(statistics.median(times), 1), "ms",
                 p_max_ms=round(max(times), 1), repeats=args.repeats, database=args.database, path=path,
                 rows=counts)
        database.dispose()
    finally:
        drop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
