"""`make bench`: every benchmark in turn, each printing its figures and the command that made them.

The real-data parts need ../shared/data (the evaluation sets are never copied into the repo);
a benchmark whose data is absent says so and the run goes on. Pin to one core for the
per-core figures: ``OMP_NUM_THREADS=1 taskset -c 1 make bench``.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS: list[list[str]] = [
    ["bench.mrz.bench_mrz"],
    ["bench.face.verification"],
    ["bench.face.timing", "--repeats", "3"],
    ["bench.face.pad_eval"],
    ["bench.fingerprint.fvc"],
    ["bench.watchlist.bench_screen", "--entries", "1000000", "--queries", "5000"],
    ["bench.gate.overhead", "--travelers", "1000"],
    ["bench.gate.recognition", "--travelers", "30"],
    ["bench.hardware.latency", "--rounds", "200"],
    ["bench.central.ingest_throughput", "--n", "500"],
    ["bench.ui.alarm_latency", "--n", "15", "--no-write"],
]


def main() -> int:
    failed = []
    for module, *args in BENCHMARKS:
        print(f"\n=== python -m {module} {' '.join(args)}", flush=True)
        code = subprocess.call([sys.executable, "-m", module, *args])
        if code:
            failed.append(module)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
