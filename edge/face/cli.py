"""``autogate face ...``: embed images and verify pairs from the command line (JSON lines).

    autogate face embed --json IMAGE...        one line per image:
        {"file", "embedding", "quality", "box"}  or  {"file", "error"}
    autogate face verify --pairs FILE --json   FILE has two image paths per line; one line per pair:
        {"a", "b", "score", "threshold", "match"}  (or {"a", "b", "error"})

Exit status: 0 when every item was processed, 1 when any item failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from .engine import EMBEDDER_MODEL, FaceEngine
from edge.imageload import FACE_LIMITS, ImageLimits, ImageRefused, load_image
from edge.modelstore import ModelError

from .errors import BadImage, FaceError
from .types import FaceTemplate
from .verify import DEFAULT_TARGET_FMR

log = logging.getLogger(__name__)


def read_image(path: str, limits: ImageLimits = FACE_LIMITS) -> np.ndarray:
    """The image at *path*, refused by its header when larger than a face camera's limit."""
    try:
        return load_image(path, limits=limits)
    except ImageRefused as exc:
        raise BadImage(f"{exc} ({exc.reason})") from exc


def _template_line(path: str, tmpl: FaceTemplate) -> dict:
    return {"file": path, "embedding": [round(float(v), 6) for v in tmpl.embedding],
            "quality": tmpl.quality.as_dict(), "box": [round(float(v), 1) for v in tmpl.face.box]}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate face", description="face embedding and 1:1")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--embedder", default=EMBEDDER_MODEL,
                        help=f"face pipeline of models/face/pipelines.json or embedder model name (default {EMBEDDER_MODEL})")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    embed = sub.add_parser("embed", help="embedding, quality and box for each image")
    embed.add_argument("--json", action="store_true", help="JSON lines (the only output format)")
    embed.add_argument("images", nargs="+")
    verify = sub.add_parser("verify", help="1:1 scores for image pairs")
    verify.add_argument("--pairs", required=True, type=Path, help="file with two image paths per line")
    verify.add_argument("--json", action="store_true", help="JSON lines (the only output format)")
    verify.add_argument("--target-fmr", type=float, default=DEFAULT_TARGET_FMR)
    return parser


def run_embed(engine: FaceEngine, images: list[str], out: TextIO) -> int:
    status = 0
    for path in images:
        try:
            line = _template_line(path, engine.template(read_image(path)))
        except FaceError as exc:
            line, status = {"file": path, "error": str(exc)}, 1
        out.write(json.dumps(line) + "\n")
    return status


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Two paths per line (shell-style quoting for paths with spaces); blank and # lines skipped."""
    pairs = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = shlex.split(raw) if ('"' in raw or "'" in raw) else raw.split()
        if len(parts) != 2:
            raise ValueError(f"pairs line {number}: expected two image paths, got {len(parts)}")
        pairs.append((parts[0], parts[1]))
    return pairs


def run_verify(engine: FaceEngine, pairs: list[tuple[str, str]], target_fmr: float, out: TextIO) -> int:
    status = 0
    cache: dict[str, FaceTemplate | FaceError] = {}

    def template(path: str) -> FaceTemplate:
        if path not in cache:
            try:
                cache[path] = engine.template(read_image(path))
            except FaceError as exc:
                cache[path] = exc
        item = cache[path]
        if isinstance(item, FaceError):
            raise item
        return item

    for a, b in pairs:
        try:
            result = engine.verify(template(a), template(b), target_fmr=target_fmr)
            line = {"a": a, "b": b, "score": round(result.score, 6),
                    "threshold": round(result.threshold, 6), "match": result.match}
        except FaceError as exc:
            line, status = {"a": a, "b": b, "error": str(exc)}, 1
        out.write(json.dumps(line) + "\n")
    return status


def main(argv: list[str]) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    pairs: list[tuple[str, str]] = []
    if args.command == "verify":
        try:
            pairs = parse_pairs(args.pairs.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"autogate face verify: {exc}", file=sys.stderr)
            return 2
    try:
        engine = FaceEngine.from_models(models_dir=args.models_dir, embedder_model=args.embedder,
                                        target_fmr=getattr(args, "target_fmr", DEFAULT_TARGET_FMR))
    except (ModelError, FaceError) as exc:
        print(f"autogate face: {exc}", file=sys.stderr)
        return 2
    if args.command == "embed":
        return run_embed(engine, args.images, sys.stdout)
    return run_verify(engine, pairs, args.target_fmr, sys.stdout)
