"""One 1:1 match on one core, on real FVC2002 templates: median and p95 CPU time.

    OMP_NUM_THREADS=1 taskset -c 1 python -m bench.fingerprint.match_time

The full FVC run (``bench.fingerprint.fvc``) also times matches, but beside bozorth3 and the
extractor; this isolates the matcher. Needs ../shared/data/fingerprints.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

import cv2

from edge.fingerprint.engine import FingerprintEngine

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "fingerprints"


def main() -> int:
    if not DATA.is_dir():
        print(f"no evaluation data at {DATA}; nothing measured")
        return 0
    engine = FingerprintEngine.from_models()
    print("command: OMP_NUM_THREADS=1 taskset -c 1 python -m bench.fingerprint.match_time")
    for db in ("db1", "db3"):
        files = sorted(DATA.glob(f"fvc2002_{db}_*/*"))[:24]
        templates = [engine.extract(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)) for f in files]
        pairs = list(itertools.combinations(templates, 2))[:200]
        times = []
        for _ in range(3):
            for a, b in pairs:
                start = time.process_time()
                engine.match(a, b)
                times.append((time.process_time() - start) * 1000)
        times.sort()
        print(f"FVC2002 {db.upper()}: one match median {statistics.median(times):.3f} ms, "
              f"p95 {times[int(len(times) * 0.95)]:.3f} ms CPU (n={len(times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
