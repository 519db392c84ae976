"""MRZ reader benchmark: our reader and PassportEye side by side, on the real specimens and on
synthetic renders that were not used in training.

    OMP_NUM_THREADS=1 OMP_THREAD_LIMIT=1 taskset -c 1 .venv/bin/python -m bench.mrz.bench_mrz \
        [--data ../shared/data/mrz] [--synthetic 1000] [--peer-synthetic 50] [--no-peer]

Figures, per reader and set: share of images read exactly (among those whose printed check digits
are valid), share of invalid-as-printed images reported invalid, accepted misreads (reported
valid but not the printed text: must be 0), median and p95 time per image on one thread.
A PassportEye reading counts as "valid" when its own ``valid`` flag is set (all check digits).
Validity as printed is decided by our parser on the ground truth (a format error = invalid).
Results are printed and written to bench/mrz/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from bench.figures import emit
from edge.mrz import MrzFormatError, parse_mrz
from edge.mrz.reader import MrzReader
from edge.mrz.synth import random_document

SYNTHETIC_SEED0 = 900_000  # training uses seeds 1000..; these never overlap
TODAY = date(2026, 1, 1)
# Print size of the MRZ in the image, as character pitch in pixels. ICAO 9303 prints ten
# characters an inch, so the pitch in pixels times ten is the capture's dots per inch: a page
# reader scans at 300 dpi or more, a camera a few feet away may give under 100.
PITCH_BANDS = ((0.0, 8.0), (8.0, 10.0), (10.0, 12.0), (12.0, 16.0), (16.0, float("inf")))


def pitch_band(lo: float, hi: float) -> str:
    if hi == float("inf"):
        return f"ours, synthetic, pitch {lo:.0f} px or more ({10 * lo:.0f} dpi or more)"
    if lo == 0:
        return f"ours, synthetic, pitch under {hi:.0f} px (under {10 * hi:.0f} dpi)"
    return f"ours, synthetic, pitch {lo:.0f}-{hi:.0f} px ({10 * lo:.0f}-{10 * hi:.0f} dpi)"


@dataclass
class Tally:
    name: str
    exact: int = 0
    exact_valid: int = 0
    valid_printed: int = 0
    invalid_printed: int = 0
    flagged_invalid: int = 0
    accepted_misreads: int = 0
    ms: list[float] = field(default_factory=list)
    misread_files: list[str] = field(default_factory=list)
    missed_files: list[str] = field(default_factory=list)

    def add(self, file: str, truth: tuple[str, ...], printed_valid: bool, lines: tuple[str, ...] | None, valid: bool, ms: float) -> None:
        self.ms.append(ms)
        right = lines is not None and tuple(lines) == tuple(truth)
        if printed_valid:
            self.valid_printed += 1
            self.exact += right
            self.exact_valid += right and valid
            if not right:
                self.missed_files.append(file)
        else:
            self.invalid_printed += 1
            self.flagged_invalid += not valid
        if valid and not right:
            self.accepted_misreads += 1
            self.misread_files.append(file)

    def row(self) -> str:
        med = float(np.median(self.ms)) if self.ms else float("nan")
        p95 = float(np.percentile(self.ms, 95)) if self.ms else float("nan")
        exact = f"{self.exact}/{self.valid_printed} ({100 * self.exact / max(1, self.valid_printed):.1f}%)"
        accepted = f"{self.exact_valid}/{self.valid_printed} ({100 * self.exact_valid / max(1, self.valid_printed):.1f}%)"
        flagged = f"{self.flagged_invalid}/{self.invalid_printed}" if self.invalid_printed else "-"
        return f"| {self.name} | {len(self.ms)} | {exact} | {accepted} | {flagged} | {self.accepted_misreads} | {med:.1f} | {p95:.1f} |"


def emit_figures(key: str, t: Tally, peer_t: Tally | None, command: str) -> None:
    """The figure lines (bench/figures.py) of one reader on one set, the peer's beside them."""
    peer_name = "PassportEye 2.2.2 + Tesseract" if peer_t else None

    def both(name: str, unit: str, get, **extra) -> None:  # type: ignore[no-untyped-def]
        emit(f"mrz.{key}.{name}", get(t), unit, peer=peer_name, peer_value=get(peer_t) if peer_t else None,
             command=command, **extra)

    both("read_exactly", "fraction", lambda x: x.exact / x.valid_printed if x.valid_printed else None,
         trials=t.valid_printed, held_out=True)
    both("accepted_misreads", "count", lambda x: x.accepted_misreads, trials=len(t.ms), held_out=True)
    if t.invalid_printed:
        both("invalid_flagged", "fraction", lambda x: x.flagged_invalid / x.invalid_printed, trials=t.invalid_printed)
    both("median_ms", "ms", lambda x: float(np.median(x.ms)) if x.ms else None, threads=1)


def printed_valid(lines: list[str]) -> bool:
    try:
        return parse_mrz(lines, today=TODAY).valid
    except MrzFormatError:
        return False


def ours(reader: MrzReader, image: np.ndarray) -> tuple[tuple[str, ...] | None, bool, float]:
    start = time.perf_counter()
    reading = reader.read(image, today=TODAY)
    return reading.lines, reading.valid, (time.perf_counter() - start) * 1000


def peer(path: str) -> tuple[tuple[str, ...] | None, bool, float]:
    from passporteye import read_mrz

    start = time.perf_counter()
    with warnings.catch_warnings():  # scikit-image deprecations, once per image
        warnings.simplefilter("ignore", FutureWarning)
        mrz = read_mrz(path)
    ms = (time.perf_counter() - start) * 1000
    if mrz is None:
        return None, False, ms
    text = mrz.aux.get("text") or ""
    return tuple(line for line in text.split("\n") if line), bool(mrz.valid), ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MRZ reader benchmark")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mrz"))
    parser.add_argument("--synthetic", type=int, default=1000)
    parser.add_argument("--peer-synthetic", type=int, default=50, help="synthetic images also given to PassportEye")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    args = parser.parse_args(argv)
    command = "OMP_NUM_THREADS=1 OMP_THREAD_LIMIT=1 taskset -c 1 .venv/bin/python -m bench.mrz.bench_mrz " + shlex.join(argv or sys.argv[1:])
    cv2.setNumThreads(1)
    load = os.getloadavg()
    reader = MrzReader()
    rows: list[str] = []
    notes: list[str] = []

    gt_path = args.data / "ground_truth.json"
    if gt_path.is_file():
        truth = json.loads(gt_path.read_text(encoding="utf-8"))
        tallies = [Tally("ours, real")] + ([] if args.no_peer else [Tally("PassportEye 2.2.2, real")])
        for name, lines in sorted(truth.items()):
            path = str(args.data / name)
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            ok = printed_valid(lines)
            got, valid, ms = ours(reader, image)
            tallies[0].add(name, tuple(lines), ok, got, valid, ms)
            if not args.no_peer:
                got, valid, ms = peer(path)
                tallies[1].add(name, tuple(lines), ok, got, valid, ms)
        rows += [t.row() for t in tallies]
        emit_figures("real", tallies[0], tallies[1] if len(tallies) > 1 else None, command)
        for t in tallies:
            notes.append(f"{t.name}: not exact: {', '.join(t.missed_files) or 'none'}; accepted misreads: {', '.join(t.misread_files) or 'none'}")
    else:
        notes.append(f"real set skipped: {gt_path} not found")

    if args.synthetic:
        syn = [Tally(f"ours, synthetic (seeds {SYNTHETIC_SEED0}+)")]
        by_pitch = [Tally(pitch_band(lo, hi)) for lo, hi in PITCH_BANDS]
        syn_peer = Tally("PassportEye 2.2.2, synthetic subset")
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.synthetic):
                doc = random_document(np.random.default_rng(SYNTHETIC_SEED0 + i))
                got, valid, ms = ours(reader, doc.image)
                syn[0].add(f"seed {SYNTHETIC_SEED0 + i}", doc.lines, True, got, valid, ms)
                band = next(j for j, (lo, hi) in enumerate(PITCH_BANDS) if lo <= doc.pitch_px < hi)
                by_pitch[band].add(f"seed {SYNTHETIC_SEED0 + i}", doc.lines, True, got, valid, ms)
                if not args.no_peer and i < args.peer_synthetic:
                    path = os.path.join(tmp, f"{i}.png")
                    cv2.imwrite(path, doc.image)
                    got, valid, ms = peer(path)
                    syn_peer.add(f"seed {SYNTHETIC_SEED0 + i}", doc.lines, True, got, valid, ms)
        rows += [t.row() for t in syn]
        emit_figures("synthetic", syn[0], None, command)
        if not args.no_peer and args.peer_synthetic:
            rows.append(syn_peer.row())
        rows += [t.row() for t in by_pitch]
        notes.append(f"ours, synthetic: accepted misreads: {', '.join(syn[0].misread_files) or 'none'}")

    header = [
        (
            "| reader, set | images | read exactly (valid as printed) | read exactly and reported valid "
            "| invalid-as-printed reported invalid | accepted misreads | median ms | p95 ms |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    table = "\n".join(header + rows)
    print(table)
    for note in notes:
        print(note)
    print(f"command: {command}")
    args.results.write_text(
        "# MRZ reader benchmark\n\n"
        f"Command (repository root): `{command}`\n\n"
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, pinned to "
        f"{len(os.sched_getaffinity(0))}, load average {load[0]:.2f} at the start; one thread for ours "
        "(onnxruntime intra-op 1, OpenCV 1), OMP_THREAD_LIMIT=1 for Tesseract.\n\n"
        + table + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
