"""`make bench`: every benchmark in turn; one JSON line per figure on stdout, the rest on stderr.

    .venv/bin/python -m bench.run_all [--quick] [--only NAME ...] [--list]

The first stdout line describes the machine ({"machine": {...}}); then each figure a bench
reported through ``bench.figures.emit`` ({"name", "value", "unit", "peer", "peer_value",
"command", ...}), held-out figures beside the peers' where a peer ran. A bench's own text goes to
stderr, so ``make bench > figures.jsonl`` keeps the figures alone and comparable between runs.

``BENCHMARKS`` is the registry: a bench plugs in with one ``Bench(...)`` line here and ``emit``
calls in its code (bench/README.md). ``--quick`` runs each bench's short form (smaller sets,
fewer repeats: minutes, for checking that everything still runs, not for quoting), or skips a
bench that has none. The real-data parts need ../shared/data (the evaluation sets are never
copied into the repo): a bench whose data is absent is skipped, and says so. Pin to one core for
the per-core figures: ``OMP_NUM_THREADS=1 taskset -c 1 make bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.figures import FIGURES_ENV, machine, read_figures

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Bench:
    """One benchmark: ``python -m module *args``; ``quick`` its short form (None: no short form)."""

    name: str
    module: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = ()
    needs: tuple[Path, ...] = ()  # data the bench cannot run without

    def command(self, quick: bool) -> list[str] | None:
        if quick and self.quick is None:
            return None
        return [sys.executable, "-m", self.module, *(self.quick if quick else self.args)]


BENCHMARKS: tuple[Bench, ...] = (
    # A short form writes its RESULTS elsewhere: quick figures are not for quoting.
    Bench("mrz", "bench.mrz.bench_mrz", (), ("--synthetic", "60", "--peer-synthetic", "5", "--results", "/dev/null"),
          needs=(SHARED_DATA / "mrz",)),
    Bench("face-verification", "bench.face.verification", (), None, needs=(SHARED_DATA / "faces",)),
    Bench("face-timing", "bench.face.timing", ("--repeats", "3"), ("--repeats", "2", "--no-peer"),
          needs=(SHARED_DATA / "faces",)),
    Bench("face-pad", "bench.face.pad_eval", (), None, needs=(SHARED_DATA / "faces",)),
    Bench("fingerprint-fvc", "bench.fingerprint.fvc", (), ("--dbs", "db1", "--no-nbis", "--out", tempfile.gettempdir()),
          needs=(SHARED_DATA / "fingerprints",)),
    Bench("watchlist-screening", "bench.watchlist.screening_eval", (),
          ("--listed", "3000", "--per-kind", "150")),
    Bench("watchlist-latency", "bench.watchlist.bench_screen", ("--entries", "1000000", "--queries", "5000"),
          ("--entries", "20000", "--queries", "500")),
    Bench("gate-overhead", "bench.gate.overhead", ("--travelers", "1000"), ("--travelers", "50", "--rounds", "200")),
    Bench("gate-recognition", "bench.gate.recognition", ("--travelers", "30"),
          ("--travelers", "3", "--entries", "2000", "--frames", "2")),
    # These rewrite their RESULTS.md on every run: no short form.
    Bench("hardware-latency", "bench.hardware.latency", ("--rounds", "200"), None),
    Bench("central-ingest", "bench.central.ingest_throughput", ("--n", "500"), None),
    # make load's figures (Mosquitto on 1883, PostgreSQL on 5432): flat out, then paced at 1,000/s.
    Bench("central-load", "bench.central.load", ("--gates", "50", "--events", "200"),
          ("--gates", "5", "--events", "100")),
    Bench("central-load-1000", "bench.central.load",
          ("--gates", "50", "--events", "200", "--rate", "1000", "--figure-prefix", "central.load.at_1000"),
          ("--gates", "5", "--events", "100", "--rate", "200", "--figure-prefix", "central.load.at_200")),
    # These need the PostgreSQL on 127.0.0.1 (a schema of their own, dropped afterwards).
    Bench("central-reports", "bench.central.reports", (), ("--days", "2", "--travellers", "20", "--repeats", "3")),
    Bench("central-web", "bench.central.web_load", ("--server", "gunicorn"),
          ("--server", "gunicorn", "--consoles", "40", "--users", "10", "--seconds", "5", "--healthz", "50")),
    Bench("central-web-waitress", "bench.central.web_load", ("--server", "waitress"),
          ("--server", "waitress", "--consoles", "20", "--users", "10", "--seconds", "5", "--healthz", "50")),
    Bench("cctv-central-index", "bench.cctv.shared_index", ("--entries", "1000000", "--no-hnsw"),
          ("--entries", "20000", "--queries", "100")),
    Bench("enrolments-fetch", "bench.enrolments.fetch_latency", (), ("--enrolments", "100", "--fetches", "30")),
    Bench("ui-alarm", "bench.ui.alarm_latency", ("--n", "15", "--no-write"), None),
)


def run(bench: Bench, quick: bool) -> tuple[str, list[dict]]:
    """Run one bench; (status, its figures). Status: ok, failed (exit N), skipped (why)."""
    missing = [str(p) for p in bench.needs if not p.exists()]
    if missing:
        return f"skipped (no {', '.join(missing)})", []
    cmd = bench.command(quick)
    if cmd is None:
        return "skipped (no --quick form)", []
    with tempfile.TemporaryDirectory(prefix="autogate-bench-") as tmp:
        figures_file = Path(tmp) / "figures.jsonl"
        env = {**os.environ, FIGURES_ENV: str(figures_file)}
        print(f"\n=== python -m {bench.module} {' '.join(cmd[3:])}", file=sys.stderr, flush=True)
        # The bench's own text streams to our stderr, line by line, as it runs.
        with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, bufsize=1) as proc:
            assert proc.stdout is not None
            for text in proc.stdout:
                sys.stderr.write(text)
            code = proc.wait()
        figures = read_figures(figures_file)
    if code:
        return f"failed (exit {code})", figures
    if not figures:
        return "failed (reported no figure)", figures
    return "ok", figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each bench's short form: does it all still run?")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benches (see --list)")
    parser.add_argument("--list", action="store_true", help="list the registered benches and exit")
    args = parser.parse_args(argv)
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<22} python -m {b.module} {' '.join(b.args)}")
        return 0
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    unknown = set(args.only or ()) - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown bench {', '.join(sorted(unknown))} (see --list)")
    print(json.dumps({**machine(), "quick": args.quick}), flush=True)
    statuses = {}
    for bench in chosen:
        t0 = time.perf_counter()
        status, figures = run(bench, args.quick)
        for line in figures:
            print(json.dumps({**line, "bench": bench.name}, ensure_ascii=False), flush=True)
        statuses[bench.name] = status
        print(f"=== {bench.name}: {status}, {len(figures)} figures, {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)
    failed = [n for n, s in statuses.items() if s.startswith("failed")]
    print("\n".join(["", "benches:"] + [f"  {n}: {s}" for n, s in statuses.items()]), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
