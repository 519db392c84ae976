"""Calibrate the MCC matcher's threshold on synthetic impostor pairs.

    nice -n 10 .venv/bin/python -m models.fingerprint.train_calibration [--fingers 200] [--out PATH]

Every synthetic finger (simulators/fingerprints.py, deterministic) gives two impressions; all
pairs of impressions of different fingers are impostor pairs (~80k for 200 fingers), the pairs of
the same finger are genuine. The upper tail of the impostor scores is written to
models/fingerprint/mcc_calibration.json, which FingerprintEngine.from_models() reads. Synthetic
impostors are a stand-in for a large real impostor set: bench/fingerprint reports the FMR this
threshold actually gives on real prints.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from edge.fingerprint import mcc
from edge.fingerprint.calibration import Calibration
from edge.fingerprint.errors import CaptureRefused
from edge.fingerprint.extract import extract
from simulators.fingerprints import synthetic_finger

log = logging.getLogger("train_calibration")
HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fingers", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "mcc_calibration.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    cyls: list[mcc.Cylinders] = []
    owner: list[int] = []
    refused = 0
    for f in range(args.fingers):
        finger = synthetic_finger(f"calibration-{f}", 2)
        for i in (1, 2):
            try:
                cyls.append(mcc.cylinders(extract(finger.impression(i))))
                owner.append(f)
            except CaptureRefused:
                refused += 1
        synthetic_finger.cache_clear()
        if f % 40 == 0:
            log.info("finger %d/%d, %.0f s", f, args.fingers, time.perf_counter() - t0)
    own = np.asarray(owner)
    impostor, genuine = [], []
    n = len(cyls)
    for i in range(n):
        for j in range(i + 1, n):
            s = mcc.score_cylinders(cyls[i], cyls[j])
            (genuine if own[i] == own[j] else impostor).append(s)
        if i % 100 == 0:
            log.info("template %d/%d, %.0f s", i, n, time.perf_counter() - t0)
    cal = Calibration.from_impostor_scores(np.asarray(impostor))
    thr = cal.threshold_for(0.0005)
    gen = np.asarray(genuine)
    measured = {"synthetic_fnmr_at_fmr_0.05pct": float((gen < thr).mean()),
                "threshold_at_fmr_0.05pct": thr, "genuine_pairs": float(len(gen)),
                "refused_captures": float(refused)}
    data = cal.to_file(source=f"simulators/fingerprints.py, {args.fingers} fingers x 2 impressions",
                       measured=measured)
    args.out.write_text(json.dumps(data.model_dump(), indent=1) + "\n", encoding="utf-8")
    manifest_path = args.out.with_name(args.out.stem + ".manifest.json")
    if manifest_path.is_file():  # keep provenance in step with the file the engine verifies
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["sha256"] = hashlib.sha256(args.out.read_bytes()).hexdigest()
        manifest["accuracy"]["threshold_at_fmr_0.05pct"] = thr
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    log.info("wrote %s: %d impostor pairs, threshold %.4f at FMR 0.05%%, synthetic FNMR %.2f%%",
             args.out, len(impostor), thr, 100 * measured["synthetic_fnmr_at_fmr_0.05pct"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
