"""Fit the cylinder projection the 1:N prefilter uses: whitened PCA of MCC cylinders.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m models.fingerprint.train_projection [--fingers 300]

Cylinders of one impression each of *fingers* synthetic fingers ``projection-<i>`` from
simulators/fingerprints.py (deterministic, and not the fingers the 1:N bench uses as distractors,
nor any real print) are centred and projected on their first ``--dims`` principal axes, each
scaled to unit variance. Writes models/fingerprint/mcc_projection.npz (``mean`` and
``components``, float32) and the SHA-256 in its manifest. No evaluation data is read.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import time
from pathlib import Path

import numpy as np

from edge.fingerprint import mcc
from edge.fingerprint.extract import extract_features
from simulators.fingerprints import synthetic_finger

log = logging.getLogger("train_projection")
HERE = Path(__file__).resolve().parent


def fit(values: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, components (D, dims) whitened, explained variance ratio per component)."""
    x = values.astype(np.float64)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    std = s[:dims] / np.sqrt(len(x))
    return mean.astype(np.float32), (vt[:dims].T / std).astype(np.float32), (s ** 2 / (s ** 2).sum())[:dims]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fingers", type=int, default=300)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--out", type=Path, default=HERE / "mcc_projection.npz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.process_time()
    blocks = []
    for i in range(args.fingers):
        result = extract_features(synthetic_finger(f"projection-{i}").impression(1))
        synthetic_finger.cache_clear()
        if result.quality.is_acceptable:
            blocks.append(mcc.cylinders(result.template).values)
        if i % 50 == 0:
            log.info("finger %d/%d, %.0f s CPU", i, args.fingers, time.process_time() - t0)
    values = np.concatenate(blocks)
    mean, components, explained = fit(values, args.dims)
    buf = io.BytesIO()
    np.savez(buf, mean=mean, components=components)
    args.out.write_bytes(buf.getvalue())
    manifest_path = args.out.with_name(args.out.stem + ".manifest.json")
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["sha256"] = hashlib.sha256(args.out.read_bytes()).hexdigest()
        manifest["training"] = {"fingers": args.fingers, "accepted_impressions": len(blocks),
                                "cylinders": int(len(values)), "dims": args.dims,
                                "explained_variance": round(float(explained.sum()), 4)}
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    log.info("wrote %s: %d cylinders of %d fingers, %d dims explain %.1f%% of the variance, %.0f s CPU",
             args.out, len(values), len(blocks), args.dims, 100 * explained.sum(), time.process_time() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
