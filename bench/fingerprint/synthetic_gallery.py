"""Synthetic distractor fingers for the 1:N benchmark, extracted once and cached outside the repo.

    nice -n 19 .venv/bin/python -m bench.fingerprint.synthetic_gallery --fingers 10000

Each distractor is one impression (index 1, a normal press) of a distinct synthetic finger
``pad-<i>`` from simulators/fingerprints.py, put through the product's extractor; captures the
quality policy refuses are left out, as an enrolment would. A finger costs about 0.25 s of CPU
(growing the master dominates), so the templates are stored as plain minutiae arrays in
``$AUTOGATE_CACHE`` (default ``~/.cache/autogate``), never in the repo, and extended on demand.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np

from edge.fingerprint.extract import extract_features
from edge.fingerprint.template import Template

log = logging.getLogger("synthetic_gallery")


def cache_path() -> Path:
    root = Path(os.environ.get("AUTOGATE_CACHE", Path.home() / ".cache" / "autogate"))
    return root / "fingerprint_distractors.npz"


def _pack(templates: list[Template | None]) -> dict[str, np.ndarray]:
    # one flat array per field plus offsets: 10k templates load in milliseconds
    kept = [t for t in templates if t is not None]
    counts = np.array([len(t) for t in kept], np.int64)
    return {
        "done": np.array(len(templates)),
        "present": np.array([t is not None for t in templates]),
        "offsets": np.concatenate([[0], np.cumsum(counts)]),
        "xy": np.concatenate([t.xy for t in kept]) if kept else np.zeros((0, 2), np.float32),
        "angle": np.concatenate([t.angle for t in kept]) if kept else np.zeros(0, np.float32),
        "kind": np.concatenate([t.kind for t in kept]) if kept else np.zeros(0, np.int8),
        "quality": np.concatenate([t.quality for t in kept]) if kept else np.zeros(0, np.uint8),
        "size": np.array([[t.width, t.height] for t in kept], np.int32).reshape(-1, 2),
    }


def load(path: Path | None = None) -> tuple[int, list[Template | None]]:
    """(fingers tried, templates in finger order with None for refused captures)."""
    path = path or cache_path()
    if not path.is_file():
        return 0, []
    with np.load(path) as npz:
        # each npz[...] reads the whole array again: read every field once
        d = {name: npz[name] for name in npz.files}
    out: list[Template | None] = []
    k = 0
    for present in d["present"]:
        if not present:
            out.append(None)
            continue
        lo, hi = d["offsets"][k], d["offsets"][k + 1]
        w, h = d["size"][k]
        # copies, not views: a view would keep the whole field alive for every template
        out.append(Template.from_arrays(d["xy"][lo:hi].copy(), d["angle"][lo:hi].copy(), d["kind"][lo:hi].copy(),
                                        d["quality"][lo:hi].copy(), width=int(w), height=int(h)))
        k += 1
    return int(d["done"]), out


def distractor(i: int) -> Template | None:
    from simulators.fingerprints import synthetic_finger

    finger = synthetic_finger(f"pad-{i}")
    result = extract_features(finger.impression(1))
    synthetic_finger.cache_clear()  # a master is 0.8 MB; keeping 64 of them buys nothing here
    return result.template if result.quality.is_acceptable else None


def ensure(fingers: int, path: Path | None = None, save_every: int = 250) -> list[Template]:
    """At least *fingers* distractor fingers tried; returns the accepted templates."""
    path = path or cache_path()
    done, templates = load(path)
    t0 = time.process_time()
    for i in range(done, fingers):
        templates.append(distractor(i))
        if (i + 1) % save_every == 0 or i + 1 == fingers:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **_pack(templates))
            tmp.replace(path)  # a killed run keeps what it saved
            log.info("%d/%d distractors, %.0f s CPU", i + 1, fingers, time.process_time() - t0)
    return [t for t in templates[:max(fingers, 0)] if t is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fingers", type=int, default=10_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    kept = ensure(args.fingers)
    print(f"{len(kept)} accepted distractor templates of {args.fingers} fingers in {cache_path()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
