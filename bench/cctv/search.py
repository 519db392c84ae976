"""1:N search time of the camera node's face list at 10,000, 100,000 and 1,000,000 templates, on one
core, with recall@1 against exact (brute force) search; peers side by side (issue 20, item 6).

Data: the 192-d MobileFaceNet embeddings of ../shared/data/faces (half the people enrolled with
one photo each; their other photos are the mated probes, the other half's photos the non-mated
ones), hidden among distractors drawn from a normal fitted to those real embeddings (their mean
and covariance, then unit length), so the gallery has the anisotropy of real face templates
rather than the uniform sphere, which is the hardest case for any index.

Searchers, each queried one probe at a time (a camera searches face by face):
- ours, exact: ``edge.face.Gallery`` brute force (numpy float32, what the node runs up to 200,000);
- ours, indexed: ``edge.face.Gallery``'s k-means cells as shipped (1,024 cells, 32 probed), and
  with more cells probed;
- peers: faiss-cpu ``IndexFlatIP`` (exact), ``IndexIVFFlat`` and ``IndexHNSWFlat``.

recall@1 is the share of probes whose top template equals brute force's; for mated probes, what
matters is finding the mate, for non-mated ones, the highest impostor (the false-alarm side).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 1 nice -n 10 .venv/bin/python -m bench.cctv.search
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "faces"
OUT = ROOT / "bench" / "cctv" / "out"
RESULTS = ROOT / "bench" / "cctv" / "search.json"


def real_embeddings() -> tuple[np.ndarray, list[str]]:
    """(embeddings, person of each), cached under bench/cctv/out/."""
    import cv2

    from edge.face import FaceEngine
    from edge.face.errors import FaceError

    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / "search_embeddings.npz"
    if cache.exists():
        data = np.load(cache)
        return data["embeddings"], list(data["people"])
    engine = FaceEngine.from_models(embedder_model="face-mobilefacenet", face_selection="largest")
    vectors, people = [], []
    for path in sorted(SHARED.rglob("*.jpg")):
        image = cv2.imread(str(path))
        try:
            vectors.append(engine.template(image).embedding)
        except FaceError:
            continue
        people.append(path.parent.name)
    embeddings = np.stack(vectors).astype(np.float32)
    np.savez(cache, embeddings=embeddings, people=np.array(people))
    return embeddings, people


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def build(size: int, real: np.ndarray, people: list[str], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gallery, mated probes, non-mated probes)."""
    rng = np.random.default_rng(seed)
    names = sorted(set(people))
    enrolled = set(rng.permutation(names)[: len(names) // 2].tolist())
    index = {p: [i for i, q in enumerate(people) if q == p] for p in names}
    templates = np.stack([real[index[p][0]] for p in sorted(enrolled)])
    mated = real[[i for p in sorted(enrolled) for i in index[p][1:]]]
    non_mated = real[[i for p in names if p not in enrolled for i in index[p]]]
    mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)
    distractors = unit(rng.multivariate_normal(mean, cov, size=size - len(templates), method="cholesky")
                       .astype(np.float32))
    gallery = np.concatenate([distractors, templates])
    gallery = gallery[rng.permutation(len(gallery))]
    return unit(gallery), unit(mated), unit(non_mated)


def timed(search, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top-1 index per probe, wall seconds, this thread's CPU seconds per probe), one at a time.
    On a shared machine the CPU time is the figure other jobs disturb least."""
    tops, times, cpu = [], [], []
    for probe in probes:
        start, start_cpu = time.perf_counter(), time.thread_time()
        top = search(probe)
        times.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
        tops.append(top)
    return np.array(tops), np.array(times), np.array(cpu)


def searchers(gallery: np.ndarray, args: argparse.Namespace) -> dict[str, tuple[object, float]]:
    """name -> (search function probe -> top index, build seconds)."""
    from edge.face import Gallery

    out: dict[str, tuple[object, float]] = {}
    keys = [str(i) for i in range(len(gallery))]

    exact = Gallery(gallery.shape[1], index_above=10**12)
    exact.add_many(keys, gallery)
    exact.search(gallery[0], 1)  # consolidates
    out["ours: Gallery, exact (numpy)"] = (lambda p: int(exact.search(p, 1)[0].key), 0.0)
    if len(gallery) > args.ivf_min:
        for probe_cells in (32, 128):
            start = time.perf_counter()
            indexed = Gallery(gallery.shape[1], index_above=0, cells=1024, probe_cells=probe_cells)
            indexed.add_many(keys, gallery)
            indexed.build_index()
            built = time.perf_counter() - start
            out[f"ours: Gallery, k-means 1024 cells, {probe_cells} probed"] = (
                (lambda g: lambda p: int(g.search(p, 1)[0].key))(indexed), built)
    try:
        import faiss
    except ImportError:
        print("faiss-cpu not installed: peers left out (pip install faiss-cpu)", file=sys.stderr)
        return out
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(gallery.shape[1])
    flat.add(gallery)
    out["peer: faiss IndexFlatIP (exact)"] = (lambda p: int(flat.search(p[None], 1)[1][0, 0]), 0.0)
    if len(gallery) > args.ivf_min:
        nlist = int(4 * np.sqrt(len(gallery)))
        start = time.perf_counter()
        faiss.omp_set_num_threads(args.build_threads)
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(gallery.shape[1]), gallery.shape[1], nlist,
                                 faiss.METRIC_INNER_PRODUCT)
        ivf.train(gallery[np.random.default_rng(0).choice(len(gallery), min(len(gallery), 64 * nlist), replace=False)])
        ivf.add(gallery)
        built = time.perf_counter() - start
        faiss.omp_set_num_threads(1)
        for nprobe in (16, 64):
            out[f"peer: faiss IVFFlat {nlist} lists, {nprobe} probed"] = (
                (lambda n: lambda p: _ivf(ivf, p, n))(nprobe), built)
    if len(gallery) <= args.hnsw_max:
        start = time.perf_counter()
        faiss.omp_set_num_threads(args.build_threads)
        hnsw = faiss.IndexHNSWFlat(gallery.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(gallery)
        built = time.perf_counter() - start
        faiss.omp_set_num_threads(1)
        hnsw.hnsw.efSearch = 64
        out["peer: faiss HNSWFlat M=32 ef=64"] = (lambda p: int(hnsw.search(p[None], 1)[1][0, 0]), built)
    return out


def _ivf(index, probe: np.ndarray, nprobe: int) -> int:  # type: ignore[no-untyped-def]
    index.nprobe = nprobe
    return int(index.search(probe[None], 1)[1][0, 0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--probes", type=int, default=200, help="probes of each kind (mated, non-mated)")
    parser.add_argument("--ivf-min", type=int, default=50_000, help="indexes only above this gallery size")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="HNSW only up to this size (slow to build)")
    parser.add_argument("--build-threads", type=int, default=2, help="threads for building peer indexes (search: 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"bench.cctv.search: {SHARED} not found", file=sys.stderr)
        return 2
    real, people = real_embeddings()
    results = {"command": "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 1 nice -n 10 .venv/bin/python -m "
                          "bench.cctv.search " + " ".join(argv or sys.argv[1:]),
               "threads": os.environ.get("OMP_NUM_THREADS", "unset"), "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        gallery, mated, non_mated = build(size, real, people, args.seed)
        rng = np.random.default_rng(args.seed)
        mated = mated[rng.permutation(len(mated))[: args.probes]]
        non_mated = non_mated[rng.permutation(len(non_mated))[: args.probes]]
        truth_m = np.argmax(mated @ gallery.T, axis=1)
        truth_n = np.argmax(non_mated @ gallery.T, axis=1)
        rows = {}
        for name, (search, built) in searchers(gallery, args).items():
            top_m, t_m, c_m = timed(search, mated)
            top_n, t_n, c_n = timed(search, non_mated)
            times = np.concatenate([t_m, t_n]) * 1000
            cpu = np.concatenate([c_m, c_n]) * 1000
            rows[name] = {"median_ms": round(float(np.median(times)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3),
                          "min_ms": round(float(times.min()), 3), "cpu_median_ms": round(float(np.median(cpu)), 3),
                          "build_s": round(built, 1),
                          "recall_at_1_mated": float(np.mean(top_m == truth_m)),
                          "recall_at_1_non_mated": float(np.mean(top_n == truth_n)), "probes": int(len(times))}
            r = rows[name]
            print(f"{size:>9} {name:<52} CPU median {r['cpu_median_ms']:8.3f} ms  wall median {r['median_ms']:8.3f}  "
                  f"p95 {r['p95_ms']:8.3f}  "
                  f"min {r['min_ms']:7.3f}  recall@1 mated {100 * r['recall_at_1_mated']:6.2f} %  "
                  f"non-mated {100 * r['recall_at_1_non_mated']:6.2f} %  build {r['build_s']} s", flush=True)
        results["sizes"][str(size)] = rows
        del gallery
    if RESULTS.exists():  # a run of some sizes keeps the other sizes' figures
        earlier = json.loads(RESULTS.read_text(encoding="utf-8"))
        for size, rows in earlier.get("sizes", {}).items():
            if size not in results["sizes"]:
                results["sizes"][size] = rows
                results.setdefault("measured_by", {})[size] = earlier.get("measured_by", {}).get(size, earlier["command"])
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
