"""1:N search on FVC2002 fingers hidden in a gallery padded with synthetic fingers.

    OMP_NUM_THREADS=1 taskset -c 1 nice -n 10 .venv/bin/python -m bench.fingerprint.one_to_n [--distractors 10000]

Protocol. The 10 real fingers (FVC2002 DB1 and DB3, 5 each) are enrolled with one impression,
in turn each of the 8 (8 rounds), beside ``--distractors`` synthetic fingers (one accepted
impression each of distinct fingers from simulators/fingerprints.py, cached by
``bench.fingerprint.synthetic_gallery``). Every other impression of a real finger is a probe: 8 x
10 x 7 = 560 mated searches. For each search, ``Gallery.search`` (a summary-vector prefilter over
the whole gallery, then full MCC on a shortlist) is timed in CPU time, and reported:

* prefilter survival: how often the true mate is within the shortlist;
* rank-1: how often the search's best candidate is the true mate, and how often it is the mate
  with a score at or above the engine's calibrated threshold (an identification the gate acts on);
* throughput: gallery entries compared per second per core, prefilter alone and whole search;
* a 100,000-entry gallery's timing (the distractors repeated by reference: the time depends only
  on the size) and an estimate of prefilter survival at larger sizes from the measured distractor
  ranks (Poisson, as a range: k distractors seen above the mate scaled up, or k + 1), labelled as
  an estimate.

The synthetic distractors are another population than FVC prints; the bench also reports how
the probes' prefilter scores against them compare with those against real non-mates.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from bench.fingerprint import synthetic_gallery
from edge.fingerprint import mcc
from edge.fingerprint.engine import FingerprintEngine
from edge.fingerprint.search import PER_ENTRY
from models.fingerprint.train_calibration import DEFAULT_DATA, load_cylinders

HERE = Path(__file__).resolve().parent
COMMAND = "OMP_NUM_THREADS=1 taskset -c 1 nice -n 10 .venv/bin/python -m bench.fingerprint.one_to_n"


def _poisson_cdf(k: int, lam: float) -> float:
    if k < 0:
        return 0.0
    term = total = math.exp(-lam)
    for i in range(1, k + 1):
        term *= lam / i
        total += term
    return min(total, 1.0)


def mated_searches(real: dict, distractors: list, engine: FingerprintEngine, shortlist: int,
                   exhaustive: bool = False) -> dict:
    """The mated-search figures; with *exhaustive*, also rank-1 of full MCC over every entry (what
    the prefilter may cost), at 0.3 to 0.6 ms per entry."""
    gallery = engine.new_gallery()
    for i, cyl in enumerate(distractors):
        gallery.add_cylinders(f"syn-{i}", cyl)
    n_syn = len(distractors)
    fingers = sorted({k[:2] for k in real})
    rows = []
    for enrol in range(1, 9):
        for f in fingers:
            gallery.remove(f"{f[0]}_{f[1]}")
            gallery.add_cylinders(f"{f[0]}_{f[1]}", real[(*f, enrol)])
        ids = np.array(gallery.ids)
        is_syn = np.char.startswith(ids, "syn-")
        for key in sorted(real):
            if key[2] == enrol:
                continue
            mate = f"{key[0]}_{key[1]}"
            coarse = gallery.prefilter_cylinders(real[key])
            mate_score = float(coarse[ids == mate][0])
            above = coarse > mate_score
            t0 = time.process_time()
            found = gallery.search_cylinders(real[key], shortlist=shortlist, top=1)
            t_search = time.process_time() - t0
            if exhaustive:
                full = {i: mcc.score_cylinders(real[key], c, engine.params) for i, c in gallery.entries()}
                exhaustive_best = max(full, key=full.get)
            rows.append({
                "rank": int(above.sum()), "syn_above": int((above & is_syn).sum()),
                "real_above": int((above & ~is_syn).sum()),
                "best": found[0][0], "best_score": found[0][1], "mate": mate, "search_s": t_search,
                "exhaustive_hit": exhaustive_best == mate if exhaustive else None,
                "to_syn_max": float(coarse[is_syn].max()) if n_syn else float("nan"),
                "to_real_nonmate_max": float(coarse[~is_syn & (ids != mate)].max()),
                "to_syn_mean": float(coarse[is_syn].mean()) if n_syn else float("nan"),
                "to_real_nonmate_mean": float(coarse[~is_syn & (ids != mate)].mean()),
            })
    rank = np.array([r["rank"] for r in rows])
    hit = np.array([r["best"] == r["mate"] for r in rows])
    accepted = hit & (np.array([r["best_score"] for r in rows]) >= engine.threshold)
    search_s = np.array([r["search_s"] for r in rows])
    out = {
        "gallery": len(gallery), "distractors": n_syn, "real_enrolled": len(fingers),
        "mated_searches": len(rows), "shortlist": shortlist,
        "prefilter_survival_pct": 100 * float((rank < shortlist).mean()),
        "prefilter_rank1_pct": 100 * float((rank == 0).mean()),
        "prefilter_survival_pct_by_shortlist": {k: 100 * float((rank < k).mean()) for k in (10, 20, 50, 100, 200)},
        "rank1_pct": 100 * float(hit.mean()),
        "rank1_at_threshold_pct": 100 * float(accepted.mean()),
        "threshold": engine.threshold,
        **({"rank1_exhaustive_mcc_pct": 100 * float(np.mean([r["exhaustive_hit"] for r in rows]))}
           if exhaustive else {}),
        "search_ms_mean": 1e3 * float(search_s.mean()),
        "search_ms_p95": 1e3 * float(np.percentile(search_s, 95)),
        "search_comparisons_per_s": len(gallery) / float(search_s.mean()),
        "probe_prefilter_vs_synthetic_mean": float(np.mean([r["to_syn_mean"] for r in rows])),
        "probe_prefilter_vs_real_nonmate_mean": float(np.mean([r["to_real_nonmate_mean"] for r in rows])),
        "probe_prefilter_vs_synthetic_max_mean": float(np.mean([r["to_syn_max"] for r in rows])),
        "probe_prefilter_vs_real_nonmate_max_mean": float(np.mean([r["to_real_nonmate_max"] for r in rows])),
    }
    # at most 20x the measured gallery: further out, one distractor more or less decides everything
    for size in (s for s in (10_000, 100_000, 1_000_000) if len(gallery) < s <= 20 * len(gallery)):
        if n_syn == 0:
            break
        # each distractor above the mate stands for (size / n_syn) of them in a gallery of *size*;
        # k seen gives a range: k (optimistic: none seen stays none) to k + 1 (pessimistic)
        scale = (size - len(fingers)) / n_syn
        for name, extra in (("optimistic", 0), ("pessimistic", 1)):
            est = [_poisson_cdf(shortlist - 1 - r["real_above"], (r["syn_above"] + extra) * scale) for r in rows]
            out[f"estimated_prefilter_survival_pct_at_{size}_{name}"] = 100 * float(np.mean(est))
    return out


def timing_at(size: int, distractors: list, probes: list, engine: FingerprintEngine, shortlist: int) -> dict:
    """Search time on a gallery of *size* entries: the distractors repeated by reference (the
    cylinders are shared, so memory holds; only the summary matrix is full size)."""
    gallery = engine.new_gallery()
    for i in range(size):
        gallery.add_cylinders(f"x-{i}", distractors[i % len(distractors)])
    gallery.prefilter_cylinders(probes[0])  # builds the summary matrix once
    t_pre, t_all = [], []
    for cyl in probes:
        t0 = time.process_time()
        gallery.prefilter_cylinders(cyl)
        t_pre.append(time.process_time() - t0)
        t0 = time.process_time()
        gallery.search_cylinders(cyl, shortlist=shortlist, top=1)
        t_all.append(time.process_time() - t0)
    # memory per entry: the prefilter's embedding, and the float cylinders full MCC needs
    cyl_bytes = np.mean([c.values.nbytes + c.squares.nbytes + c.valid.nbytes for c in distractors])
    return {"gallery": size, "probes": len(probes),
            "prefilter_bytes_per_entry": PER_ENTRY * gallery.projection.dims * 4,
            "cylinder_bytes_per_entry": float(cyl_bytes),
            "prefilter_ms_mean": 1e3 * float(np.mean(t_pre)),
            "prefilter_comparisons_per_s": size / float(np.mean(t_pre)),
            "search_ms_mean": 1e3 * float(np.mean(t_all)), "search_ms_p95": 1e3 * float(np.percentile(t_all, 95)),
            "search_comparisons_per_s": size / float(np.mean(t_all))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--distractors", type=int, default=10_000,
                        help="synthetic fingers tried (generated into the cache when missing: ~0.25 s each)")
    parser.add_argument("--shortlist", type=int, default=50)
    parser.add_argument("--big", type=int, default=100_000, help="gallery size for the timing run")
    parser.add_argument("--exhaustive", action="store_true",
                        help="also full MCC against every entry, for rank-1 without the prefilter (slow)")
    parser.add_argument("--no-timing", action="store_true", help="skip the --big gallery timing run")
    parser.add_argument("--out", type=Path, default=HERE / "one_to_n.json")
    args = parser.parse_args(argv)
    if not (args.data / "fvc2002_db1_101").is_dir():
        print(f"no FVC2002 data under {args.data}; nothing measured")
        return 0
    engine = FingerprintEngine.from_models()
    real = load_cylinders(args.data)
    t0 = time.process_time()
    distractors = [mcc.cylinders(t, engine.params) for t in synthetic_gallery.ensure(args.distractors)]
    print(f"{len(distractors)} distractor templates ready ({time.process_time() - t0:.0f} s CPU)", flush=True)
    result = {"command": " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])]),
              "mated": mated_searches(real, distractors, engine, args.shortlist, args.exhaustive)}
    print(json.dumps(result["mated"], indent=1), flush=True)
    if not args.no_timing:
        probes = [real[k] for k in sorted(real) if k[2] == 2]
        result["timing"] = timing_at(args.big, distractors, probes, engine, args.shortlist)
        print(json.dumps(result["timing"], indent=1))
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
