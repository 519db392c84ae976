"""Calibrate the reader's acceptance thresholds for characters no check digit covers.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.mrz.calibrate [--seeds 400]

Reads synthetic renders with seeds 800000 upward (neither training nor benchmark seeds) with those
thresholds switched off (UNPROTECTED_P, UNPROTECTED_ALNUM_P, UNKNOWN_STATE_P), and prints, for readings whose check digits all pass, the weakest
unprotected character's probability: for readings that are wrong (names misread: what the
threshold must refuse) and for exact ones (what it should let through). Never uses real images.
"""

from __future__ import annotations

import argparse
from datetime import date

import cv2
import numpy as np

import edge.mrz.decode as decoding
import edge.mrz.reader as reading
from edge.mrz.synth import random_document

CALIBRATION_SEED0 = 800_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=400)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    decoding.UNPROTECTED_P = 0.0
    decoding.UNPROTECTED_ALNUM_P = 0.0
    decoding.UNKNOWN_STATE_P = 0.0
    decoding.RAW_MIN_P = 0.0
    seen: list[decoding.Decoded] = []
    inner = reading.decode

    def spy(*a, **k):
        result = inner(*a, **k)
        seen.append(result)
        return result

    reading.decode = spy
    reader = reading.MrzReader()
    right: list[float] = []
    wrong: list[float] = []
    wrong_seeds: list[int] = []
    for seed in range(CALIBRATION_SEED0, CALIBRATION_SEED0 + args.seeds):
        doc = random_document(np.random.default_rng(seed))
        seen.clear()
        result = reader.read(doc.image, today=date(2026, 1, 1))
        if not result.valid:
            continue
        decoded = next(d for d in reversed(seen) if d.valid)
        if tuple(result.lines or ()) == doc.lines:
            right.append(decoded.weakest_unprotected)
        else:
            wrong.append(decoded.weakest_unprotected)
            wrong_seeds.append(seed)
    print(f"{args.seeds} renders: {len(right)} exact and {len(wrong)} wrong readings pass every check digit")
    if wrong:
        print(f"wrong: weakest unprotected character at most {max(wrong):.3f} (sorted: {', '.join(f'{w:.2f}' for w in sorted(wrong))})")
        print(f"wrong readings: seeds {', '.join(f'{s} ({w:.2f})' for s, w in zip(wrong_seeds, wrong))}")
    if right:
        print(f"exact: weakest unprotected character median {np.median(right):.3f}")
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99):
        print(f"threshold {threshold}: accepts {sum(r >= threshold for r in right)} exact, {sum(w >= threshold for w in wrong)} wrong")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
