"""``autogate cctv ...``: run a camera node.

    autogate cctv run --gallery DIR --source PATH --json     standalone: a folder gallery, JSON lines
    autogate cctv run [--config camera.toml]                 networked: face list from central, alarms
                                                              to central over MQTT (edge/cctv/service.py)

Standalone, DIR holds one folder per watchlisted identity with photos of them, and PATH is a
video file, a folder of frames or a stream. Output, one JSON object a line: one per alarm,
``{"track", "identity", "score", "frame"}``, then a summary ``{"frames", "tracks", "alarms", "fps"}``
(``fps`` is frames processed per second of wall time). Gallery photos that gave no template are
reported on stderr. Exit status: 0 done, 1 the gallery has no usable photo, 2 bad usage or
configuration.

The threshold is set from ``--target-fpir`` for the gallery's size, on the operating curve fitted
by ``bench/cctv/walkpast.py`` (models/face/cctv_operating_points.json), or fixed by ``--threshold``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

EXIT_EMPTY_GALLERY = 1
EXIT_USAGE = 2
DEFAULT_TARGET_FPIR = 0.01


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate cctv", description="CCTV face-recognition camera node")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a camera node")
    run.add_argument("--config", type=Path, help="camera settings (.toml or .json); env AUTOGATE_CCTV_* overrides")
    run.add_argument("--gallery", type=Path, help="standalone: a folder with one sub-folder of photos per identity")
    run.add_argument("--source", help="video file, folder of frames, stream URL or device index")
    run.add_argument("--json", action="store_true", help="standalone: JSON lines on stdout (the only output format)")
    run.add_argument("--target-fpir", type=float, default=None,
                     help=f"false positive identification rate the threshold is set for (default {DEFAULT_TARGET_FPIR})")
    run.add_argument("--threshold", type=float, default=None, help="a fixed threshold instead of one set from the FPIR")
    run.add_argument("--fps", type=float, default=None, help="frame rate of a folder of frames (default 15)")
    run.add_argument("--detector-input-px", type=int, default=None, help="long side the face detector runs at (640)")
    run.add_argument("--models-dir", type=Path, default=None)
    run.add_argument("--embedder", default="face-mobilefacenet",
                     help="standalone: face model (manifest name); the FPIR curve must exist for it")
    run.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.gallery is not None:
        if not args.source:
            parser.error("--gallery needs --source")
        return run_standalone(args, sys.stdout)
    from edge.cctv.service import run_networked

    return run_networked(args)


def threshold_rule(engine, *, models_dir: Path | None, target_fpir: float | None, fixed: float | None):  # type: ignore[no-untyped-def]
    """A function of the gallery size giving the threshold (``node.ThresholdRule``)."""
    from edge import modelstore
    from edge.cctv.threshold import Threshold, load_curve

    if fixed is not None:
        return lambda size: Threshold(fixed, None, size, None, False, "fixed")
    curve = load_curve(models_dir or modelstore.default_models_dir(), engine.model_tag)
    fpir = target_fpir if target_fpir is not None else DEFAULT_TARGET_FPIR
    return lambda size: curve.for_fpir(fpir, size)


def run_standalone(args: argparse.Namespace, out: TextIO) -> int:
    from edge.cctv.gallery import gallery_from_folder
    from edge.cctv.node import CameraNode, NodeConfig
    from edge.cctv.source import SourceError, open_source
    from edge.cctv.threshold import CalibrationError
    from edge.face import FaceEngine
    from edge.face.errors import FaceError

    engine = FaceEngine.from_models(models_dir=args.models_dir, embedder_model=args.embedder,
                                    detector_input_px=args.detector_input_px or 640, face_selection="largest")
    try:
        rule = threshold_rule(engine, models_dir=args.models_dir, target_fpir=args.target_fpir, fixed=args.threshold)
        gallery, problems = gallery_from_folder(engine, args.gallery)
        source = open_source(args.source, fps=args.fps, start_ms=0)
    except (CalibrationError, SourceError, FileNotFoundError, ValueError) as exc:
        print(f"autogate cctv: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(f"autogate cctv: gallery {problem.path}: {problem.reason}", file=sys.stderr)
    if not len(gallery):
        print(f"autogate cctv: gallery {args.gallery} has no usable photo", file=sys.stderr)
        source.close()
        return EXIT_EMPTY_GALLERY
    node = CameraNode(engine, gallery, threshold_rule=rule, config=NodeConfig(camera_id="standalone"))
    log.info("gallery %s: %d templates of %d identities; threshold %.4f", args.gallery, len(gallery),
             gallery.entries, node.threshold.value)

    def emit(raised: list) -> None:
        for facts, _images in raised:
            out.write(json.dumps({"track": facts.track_id, "identity": facts.entry_id,
                                  "score": round(facts.score, 4), "frame": facts.frame}) + "\n")
            out.flush()

    stop = threading.Event()
    started = time.perf_counter()
    try:
        for frame in source.frames(stop):
            try:
                emit(node.process(frame.index, frame.at_ms, frame.image))
            except FaceError as exc:  # a frame the engine cannot take: reported, the rest goes on
                print(f"autogate cctv: frame {frame.index} skipped: {exc}", file=sys.stderr)
        emit(node.finish())
    except KeyboardInterrupt:
        emit(node.finish())
    finally:
        source.close()
    elapsed = max(time.perf_counter() - started, 1e-9)
    stats = node.stats
    out.write(json.dumps({"frames": stats.frames, "tracks": stats.tracks, "alarms": stats.alarms,
                          "fps": round(stats.frames / elapsed, 2)}) + "\n")
    return 0
