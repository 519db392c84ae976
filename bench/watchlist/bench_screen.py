"""Screening benchmark: latency per query against N synthetic entries, and name-matching accuracy.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python -m bench.watchlist.bench_screen --entries 1000000

Latency is CPU time of the screening thread (``time.thread_time``) per query, which is what one
core spends; wall time is printed too (it includes waiting for the CPU on a shared machine).
Queries: random travelers (almost never listed), listed people with their name respelled
(old spelling, swapped order) and a new passport, and listed document numbers.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from bench.figures import emit
from bench.watchlist import synth
from edge.watchlist.model import ScreeningQuery, WatchlistEntry
from edge.watchlist.pairs import precision_recall
from edge.watchlist.screen import Screener

TODAY = date(2026, 1, 1)


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    n_planted = args.queries // 10
    planted_idx = set(rng.sample(range(args.entries), min(args.entries, n_planted * 4)))
    kept: list[WatchlistEntry] = []

    def stream() -> Iterator[WatchlistEntry]:  # keep a sample for planted queries without holding a million models
        for i, e in enumerate(synth.entries(args.entries, seed=args.seed)):
            if i in planted_idx:
                kept.append(e)
            yield e

    rss0 = rss_mb()
    t0 = time.perf_counter()
    screener = Screener(stream())
    build_s = time.perf_counter() - t0
    rss1 = rss_mb()

    active_named = [e for e in kept if e.surname and e.is_active(TODAY)]
    active_docs = [e for e in kept if e.document_numbers and e.is_active(TODAY)]
    queries: list[tuple[str, ScreeningQuery, str | None]] = []
    for q in synth.travelers(args.queries - 2 * n_planted, seed=args.seed + 1):
        queries.append(("random", q, None))
    for i, e in enumerate(rng.sample(active_named, min(n_planted, len(active_named)))):
        queries.append(("respelled", synth.query_from_entry(e, rng, f"P{i}"), e.entry_id))
    for i, e in enumerate(rng.sample(active_docs, min(n_planted, len(active_docs)))):
        queries.append(("document", ScreeningQuery(id=f"D{i}", document_number=e.document_numbers[0],
                                                   surname=e.surname or "UNKNOWN", given_names=e.given_names,
                                                   birth_date=e.birth_date, nationality=e.nationality), e.entry_id))
    rng.shuffle(queries)

    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    levels: dict[str, Counter[str]] = {"random": Counter(), "respelled": Counter(), "document": Counter()}
    found: Counter[str] = Counter()
    alarms: Counter[str] = Counter()  # why random travelers were flagged
    for kind, q, expected in queries:
        w0, c0 = time.perf_counter(), time.thread_time()
        result = screener.screen(q, today=TODAY)
        c1, w1 = time.thread_time(), time.perf_counter()
        cpu_ms.append((c1 - c0) * 1e3)
        wall_ms.append((w1 - w0) * 1e3)
        levels[kind][result.level] += 1
        if kind == "random" and result.candidates:
            why = [r for r in result.candidates[0].reasons if r.startswith(("birth", "document"))]
            alarms[f"{result.level}: {why[0].split(' (')[0] if why else '?'}"] += 1
        if expected and any(c.entry_id == expected for c in result.candidates):
            found[kind] += 1
    cpu_ms.sort()
    wall_ms.sort()

    here = Path(__file__).resolve().parents[2] / "tests" / "watchlist"
    pairs = {name: precision_recall(here / name) for name in ("name_pairs.csv", "name_pairs_holdout.csv")}

    cmd = "OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python -m bench.watchlist.bench_screen " + " ".join(
        sys.argv[1:] if argv is None else argv)
    lines = [
        f"command: {cmd}",
        (f"entries: {len(screener):,}  postings: {screener.postings:,}  build: {build_s:.1f} s  "
        f"max RSS: {rss1:.0f} MB (before build {rss0:.0f} MB)"),
        (f"queries: {len(queries):,}  CPU ms/query p50 {percentile(cpu_ms, 50):.2f}  p90 {percentile(cpu_ms, 90):.2f}  "
        f"p99 {percentile(cpu_ms, 99):.2f}  max {cpu_ms[-1]:.2f}"),
        (f"                 wall ms/query p50 {percentile(wall_ms, 50):.2f}  p99 {percentile(wall_ms, 99):.2f}  "
        f"max {wall_ms[-1]:.2f}"),
    ]
    for kind, counter in levels.items():
        total = sum(counter.values())
        extra = f", expected entry among candidates {found[kind]}/{total}" if kind != "random" else ""
        lines.append(f"{kind:>10}: {dict(counter)}{extra}")
    lines.append("random travelers flagged, by the best candidate's first date/document reason: "
                 + "; ".join(f"{k} {v}" for k, v in alarms.most_common()))
    for name, scores in pairs.items():
        lines.append(f"name pairs {name} ({scores.pairs}): precision {scores.precision:.3f} "
                     f"recall {scores.recall:.3f} (name score >= 0.80)")
    print("\n".join(lines))
    size = f"{len(screener) // 1000}k" if len(screener) < 1_000_000 else f"{len(screener) // 1_000_000}M"
    for p in (50, 99):
        emit(f"watchlist.screen_{size}.cpu_ms_p{p}", round(percentile(cpu_ms, p), 3), "ms", command=cmd,
             trials=len(cpu_ms), threads=1)
    emit(f"watchlist.screen_{size}.max_rss_mb", round(rss1), "MB", command=cmd)
    random_total = sum(levels["random"].values())
    emit(f"watchlist.screen_{size}.random_flagged", round(1 - levels["random"]["none"] / random_total, 5), "fraction",
         command=cmd, trials=random_total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
