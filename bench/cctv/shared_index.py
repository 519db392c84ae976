"""CCTV face search at central with a million watchlist entries, shared by several processes
(issue 23 item 3): templates stored in PostgreSQL and searched exactly in each process, beside
faiss indexes (faiss-cpu from PyPI; pgvector is not in this machine's package sources) written
to a file that every web or ingest process memory-maps.

    .venv/bin/python -m bench.cctv.shared_index [--entries 1000000] [--queries 400] [--processes 2]
        [--no-hnsw] [--keep DIR]

Data: ``--entries`` unit 192-d vectors (MobileFaceNet's size) drawn from an anisotropic normal
(a random covariance with a decaying spectrum, like real face templates: harder for an index
than the uniform sphere); queries are half mated (a stored template plus noise) and half new
faces. Synthetic on purpose: the point is the scale and the sharing, which the real-embedding
bench (bench/cctv/search.py) cannot reach with 1,000 real faces.

Measured, per searcher: build (or load) time, memory, one-query-at-a-time p50/p99 latency and
recall@1 against exact search:
- PostgreSQL: templates as ``bytea`` rows (what central stores); each process loads all rows
  into numpy and searches exactly: load time, the table's size, a private copy per process.
- faiss ``IndexHNSWFlat`` (M=32, efSearch=64) and ``IndexIVFFlat`` (4,096 lists, 32 probed):
  built once, written to a file; each of ``--processes`` child processes opens it memory-mapped
  (``IO_FLAG_MMAP_IFC``) and reports its load time, RSS and PSS (proportional set size: pages
  shared between processes count once in total), so sharing shows as PSS well below RSS.

How processes share it: the index file is immutable per watchlist version (``faces-v{N}.faiss``,
written to a temporary name and renamed); a process maps the file of the current version and,
when the version changes (the CCTV publisher's notice), maps the new file and drops the old. The
page cache holds one copy for every process on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench.figures import emit

DIM = 192
POSTGRES = os.environ.get("AUTOGATE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_data(entries: int, queries: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spectrum = np.exp(-np.arange(DIM) / 40.0).astype(np.float32)  # a few directions dominate
    basis = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)
    mix = (basis * spectrum) @ basis.T
    mean = rng.standard_normal(DIM).astype(np.float32) * 0.3
    gallery = np.empty((entries, DIM), dtype=np.float32)
    for start in range(0, entries, 100_000):
        block = rng.standard_normal((min(100_000, entries - start), DIM)).astype(np.float32) @ mix + mean
        gallery[start:start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    half = queries // 2
    mated = gallery[rng.integers(0, entries, half)] + rng.standard_normal((half, DIM)).astype(np.float32) * 0.03
    fresh = rng.standard_normal((queries - half, DIM)).astype(np.float32) @ mix + mean
    probes = np.vstack([mated, fresh]).astype(np.float32)
    return gallery, probes / np.linalg.norm(probes, axis=1, keepdims=True)


def exact_top1(gallery: np.ndarray, probes: np.ndarray) -> tuple[np.ndarray, list[float]]:
    tops, times = [], []
    for probe in probes:
        t = time.perf_counter()
        tops.append(int(np.argmax(gallery @ probe)))
        times.append((time.perf_counter() - t) * 1000)
    return np.array(tops), times


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q * 100))


def memory_kb() -> dict[str, int]:
    """RSS and PSS of this process (kB), from /proc/self/smaps_rollup."""
    out = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key.lower() + "_kb"] = int(rest.split()[0])
    return out


# ---- PostgreSQL-stored templates -------------------------------------------------------------
def postgres_baseline(gallery: np.ndarray, probes: np.ndarray, exact: np.ndarray) -> dict:
    import psycopg

    schema = f"bench_faces_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with psycopg.connect(POSTGRES, options=f"-csearch_path={schema}") as conn:
            conn.execute("CREATE TABLE face_templates (id bigint PRIMARY KEY, embedding bytea NOT NULL)")
            t = time.perf_counter()
            with conn.cursor().copy("COPY face_templates (id, embedding) FROM STDIN") as copy:
                for i, row in enumerate(gallery):
                    copy.write_row((i, row.tobytes()))
            conn.commit()
            store_s = time.perf_counter() - t
            size = conn.execute("SELECT pg_total_relation_size('face_templates')").fetchone()[0]
            before = memory_kb()["rss_kb"]
            t = time.perf_counter()
            loaded = np.empty_like(gallery)
            with conn.cursor(name="templates") as cur:  # server-side cursor: rows in batches
                cur.itersize = 50_000
                cur.execute("SELECT id, embedding FROM face_templates")
                for i, blob in cur:
                    loaded[i] = np.frombuffer(blob, dtype=np.float32)
            load_s = time.perf_counter() - t
            grown_mb = (memory_kb()["rss_kb"] - before) / 1024
        tops, times = exact_top1(loaded, probes)
        return {"store_s": store_s, "table_mb": size / 2**20, "load_s": load_s, "private_mb_per_process": grown_mb,
                "p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99), "recall": float(np.mean(tops == exact))}
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# ---- faiss, built once, memory-mapped by several processes ------------------------------------
def build(kind: str, gallery: np.ndarray):
    import faiss

    t = time.perf_counter()
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.add(gallery)
    else:
        quantizer = faiss.IndexFlatIP(DIM)
        lists = 4096 if len(gallery) >= 200_000 else max(64, len(gallery) // 256)
        index = faiss.IndexIVFFlat(quantizer, DIM, lists, faiss.METRIC_INNER_PRODUCT)
        sample = gallery[np.random.default_rng(1).choice(len(gallery), min(len(gallery), lists * 40), replace=False)]
        index.train(sample)
        index.add(gallery)
    return index, time.perf_counter() - t


def child(path: str, probes_path: str, kind: str, mmap: bool) -> None:
    """Runs in a separate process: open the index file, search every probe, report as JSON."""
    import faiss

    probes = np.load(probes_path)
    before = memory_kb()
    t = time.perf_counter()
    index = faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    load_s = time.perf_counter() - t
    if kind == "hnsw":
        index.hnsw.efSearch = 64
    else:
        index.nprobe = 32
    tops, times = [], []
    for probe in probes:
        t = time.perf_counter()
        _d, ids = index.search(probe[None, :], 1)
        times.append((time.perf_counter() - t) * 1000)
        tops.append(int(ids[0, 0]))
    # Measured once every child has its index open: pages shared with a sibling count half.
    print("ready", flush=True)
    sys.stdin.readline()
    after = memory_kb()
    print(json.dumps({"load_s": load_s, "tops": tops, "times": times, "rss_mb": (after["rss_kb"] - before["rss_kb"]) / 1024,
                      "pss_mb": (after["pss_kb"] - before["pss_kb"]) / 1024}), flush=True)
    sys.stdin.readline()  # hold the mapping until every sibling has measured


def shared(kind: str, path: Path, probes_path: Path, processes: int, mmap: bool) -> list[dict]:
    """Start *processes* children together, each opening the same file; their reports."""
    procs = [subprocess.Popen([sys.executable, "-m", "bench.cctv.shared_index", "--child", str(path), str(probes_path),
                               kind, "mmap" if mmap else "copy"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
             for _ in range(processes)]
    for p in procs:  # all searched, all still holding their index
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    reports = []
    for p in procs:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write("measure\n")
        p.stdin.flush()
        reports.append(json.loads(p.stdout.readline()))
    for p in procs:
        p.communicate("exit\n")
    return reports


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "mmap")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--no-hnsw", action="store_true", help="skip HNSW (its build is the slow part)")
    parser.add_argument("--no-ivf", action="store_true", help="skip IVF")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the index files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    import faiss

    n = args.entries
    t = time.perf_counter()
    gallery, probes = make_data(n, args.queries)
    print(f"data: {n} x {DIM} in {time.perf_counter() - t:.1f} s ({gallery.nbytes / 2**20:.0f} MB)", file=sys.stderr)
    exact, exact_times = exact_top1(gallery, probes)
    emit(f"cctv.central_index.{n}.exact_numpy.p50_ms", round(pct(exact_times, 0.5), 2), "ms",
         p99_ms=round(pct(exact_times, 0.99), 2), entries=n, probes=len(probes),
         note="exact search in one process over templates already in memory (the in-process index today)")
    if not args.no_postgres:
        pg = postgres_baseline(gallery, probes, exact)
        print(f"postgres: {pg}", file=sys.stderr)
        emit(f"cctv.central_index.{n}.postgres_bytea.load_s", round(pg["load_s"], 2), "s", entries=n,
             table_mb=round(pg["table_mb"], 1), store_s=round(pg["store_s"], 1),
             private_mb_per_process=round(pg["private_mb_per_process"], 1),
             p50_ms=round(pg["p50_ms"], 2), p99_ms=round(pg["p99_ms"], 2), recall_at_1=pg["recall"],
             note="templates as bytea rows; every process loads them all and searches exactly")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="autogate-faces-"))
    folder.mkdir(parents=True, exist_ok=True)
    probes_path = folder / "probes.npy"
    np.save(probes_path, probes)
    for kind in (*(() if args.no_ivf else ("ivf",)), *(() if args.no_hnsw else ("hnsw",))):
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        index, build_s = build(kind, gallery)
        path = folder / f"faces-v1.{kind}.faiss"
        faiss.write_index(index, str(path))
        file_mb = path.stat().st_size / 2**20
        del index
        print(f"{kind}: built in {build_s:.1f} s, file {file_mb:.0f} MB", file=sys.stderr)
        for mmap in (True, False):
            reports = shared(kind, path, probes_path, args.processes, mmap)
            times = [ms for r in reports for ms in r["times"]]
            recall = float(np.mean([np.mean(np.array(r["tops"]) == exact) for r in reports]))
            how = "mmap" if mmap else "copy"
            line = {"build_s": round(build_s, 1), "file_mb": round(file_mb, 1), "entries": n,
                    "processes": args.processes, "load_s": [round(r["load_s"], 3) for r in reports],
                    "rss_mb_per_process": [round(r["rss_mb"], 1) for r in reports],
                    "pss_mb_per_process": [round(r["pss_mb"], 1) for r in reports],
                    "p99_ms": round(pct(times, 0.99), 3), "recall_at_1": round(recall, 4),
                    "probes": len(probes)}
            print(f"  {kind} {how}: {line}", file=sys.stderr)
            emit(f"cctv.central_index.{n}.faiss_{kind}.{how}.p50_ms", round(pct(times, 0.5), 3), "ms", **line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
