"""``autogate finger``: fingerprint templates, 1:1 verification and synthetic prints.

    autogate finger verify --pairs FILE [--json] [--fmr 0.0005 | --threshold T]
    autogate finger template [--json] [--iso-out DIR] IMAGE...
    autogate finger synth --person ID [--impressions N] --out DIR

A pairs file has two paths per line (images, or ISO/IEC 19794-2 records ending in .fmr/.iso);
``#`` starts a comment. With ``--json`` each pair prints one JSON line
``{"a", "b", "score", "threshold", "match"}``, or ``{"a", "b", "error", "reason"}`` when a side
cannot be used (an unreadable file, a refused capture).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import shlex
import sys
from pathlib import Path

import cv2

from .calibration import DEFAULT_TARGET_FMR
from .engine import FingerprintEngine
from edge.imageload import FINGERPRINT_LIMITS, ImageRefused, load_image

from .errors import CalibrationError, CaptureRefused, FingerprintError
from .template import Template

log = logging.getLogger(__name__)

ISO_SUFFIXES = {".fmr", ".iso", ".ist"}


def _load(path: str, engine: FingerprintEngine, cache: dict[str, Template]) -> Template:
    if path in cache:
        return cache[path]
    p = Path(path)
    if p.suffix.lower() in ISO_SUFFIXES:
        tpl = engine.from_iso(p.read_bytes())
    else:
        tpl = engine.extract(load_image(p, limits=FINGERPRINT_LIMITS, grey=True))
    cache[path] = tpl
    return tpl


def _error(a: str, b: str, exc: Exception) -> dict:
    reason = exc.reason if isinstance(exc, (CaptureRefused, ImageRefused)) else type(exc).__name__
    return {"a": a, "b": b, "error": str(exc), "reason": reason}


def _verify(args: argparse.Namespace, engine: FingerprintEngine) -> int:
    cache: dict[str, Template] = {}
    failures = 0
    text = sys.stdin.read() if args.pairs == "-" else Path(args.pairs).read_text(encoding="utf-8")
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = shlex.split(line)
        if len(parts) != 2:
            row = {"line": lineno, "error": f"expected two paths, got {len(parts)}", "reason": "bad_line"}
            failures += 1
        else:
            a, b = parts
            try:
                v = engine.verify(_load(a, engine, cache), _load(b, engine, cache))
                row = {"a": a, "b": b, "score": round(v.score, 6), "threshold": round(v.threshold, 6),
                       "match": v.match}
            except (OSError, FingerprintError, ImageRefused) as exc:
                row = _error(a, b, exc)
                failures += 1
        if args.json:
            print(json.dumps(row), flush=True)
        elif "error" in row:
            print(f"{row.get('a', '')}\t{row.get('b', '')}\tERROR {row['reason']}: {row['error']}")
        else:
            verdict = "MATCH" if row["match"] else "no match"
            print(f"{row['a']}\t{row['b']}\t{row['score']:.4f}\t{verdict}")
    return 1 if failures else 0


def _template(args: argparse.Namespace, engine: FingerprintEngine) -> int:
    failures = 0
    if args.iso_out:
        Path(args.iso_out).mkdir(parents=True, exist_ok=True)
    for path in args.images:
        try:
            img = load_image(path, limits=FINGERPRINT_LIMITS, grey=True)
        except ImageRefused as exc:
            img = None
            row = {"image": path, "error": str(exc), "reason": exc.reason}
            failures += 1
        if img is not None:
            result = engine.assess(img)
            q = result.quality
            record = engine.to_iso(result.template)
            row = {"image": path, "width": img.shape[1], "height": img.shape[0],
                   "quality": q.score, "minutiae": len(result.template), "accepted": q.is_acceptable,
                   "reason": q.reason, "iso19794_2": base64.b64encode(record).decode("ascii")}
            if not q.is_acceptable:
                failures += 1
                row["detail"] = q.detail
            if args.iso_out:
                out = Path(args.iso_out) / (Path(path).stem + ".fmr")
                out.write_bytes(record)
                row["iso_file"] = str(out)
        if args.json:
            print(json.dumps(row), flush=True)
        elif "error" in row:
            print(f"{path}\tERROR {row['error']}")
        else:
            state = "ok" if row["accepted"] else f"REFUSED {row['reason']} ({row['detail']})"
            print(f"{path}\tquality {row['quality']}\tminutiae {row['minutiae']}\t{state}")
    return 1 if failures else 0


def _synth(args: argparse.Namespace) -> int:
    from simulators.fingerprints import synthetic_finger

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    finger = synthetic_finger(args.person, args.finger)
    for i in range(args.impressions):
        path = out / f"{args.person}_{args.finger}_{i}.png"
        cv2.imwrite(str(path), finger.impression(i))
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate finger",
                                     description="Fingerprint templates, 1:1 verification and synthetic prints.")
    sub = parser.add_subparsers(dest="command", required=True)

    def engine_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--fmr", type=float, default=DEFAULT_TARGET_FMR,
                       help="target false match rate for the threshold (default 0.0005 = 0.05%%)")
        p.add_argument("--threshold", type=float, help="fixed score threshold (overrides --fmr)")
        p.add_argument("--models-dir", type=Path, help="model directory (default: models/)")
        p.add_argument("--extractor", choices=("classical", "leader"), default="classical",
                       help="minutiae from the classical path (default, calibrated) or the LEADER ONNX "
                            "network (about 0.5 s per image; needs --threshold)")
        p.add_argument("--json", action="store_true", help="one JSON object per line")

    v = sub.add_parser("verify", help="1:1 scores for pairs of images or ISO records")
    v.add_argument("--pairs", required=True, help="file with two paths per line, or - for stdin")
    engine_options(v)
    t = sub.add_parser("template", help="extract minutiae templates (ISO/IEC 19794-2)")
    t.add_argument("images", nargs="+")
    t.add_argument("--iso-out", help="also write <stem>.fmr records into this directory")
    engine_options(t)
    s = sub.add_parser("synth", help="write synthetic impressions of a simulated traveller's finger")
    s.add_argument("--person", required=True)
    s.add_argument("--finger", type=int, default=2, help="ISO finger position (2 = right index)")
    s.add_argument("--impressions", type=int, default=4)
    s.add_argument("--out", required=True)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "synth":
        return _synth(args)
    try:
        if args.threshold is not None:
            engine = FingerprintEngine(threshold=args.threshold, extractor=args.extractor)
        elif args.extractor == "leader":
            raise CalibrationError("--extractor leader needs --threshold (only the classical path is calibrated)")
        else:
            engine = FingerprintEngine.from_models(args.models_dir, target_fmr=args.fmr)
    except (OSError, FingerprintError) as exc:
        print(f"autogate finger: {exc}", file=sys.stderr)
        return 2
    if args.command == "verify":
        return _verify(args, engine)
    return _template(args, engine)
