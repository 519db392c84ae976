"""dlib's ResNet face descriptor as a fusion candidate, measured under the same protocol.

dlib's model (dlib_face_recognition_resnet_model_v1.dat, public domain per dlib's model
repository) is not converted to ONNX yet, so the project cannot ship it; this bench measures
whether it would be worth converting. dlib is no dependency of the project: the descriptors are
computed by a separate Python that has ``dlib-bin`` and ``face-recognition-models`` installed
(both from PyPI), on the faces our detector found (YuNet@320, central face: dlib's 5-point shape
predictor runs inside YuNet's box, then dlib's own 150 px chip), and scored here with the
protocol of bench/face/verification.py (5-fold by person, fusion weight and threshold fitted on
the other folds, the threshold aimed at half the target FMR).

    python3 -m venv /tmp/venv-dlib
    /tmp/venv-dlib/bin/pip install dlib-bin==20.0.1.post1 face-recognition-models==0.3.0 numpy opencv-python-headless
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m bench.face.dlib_candidate --dlib-python /tmp/venv-dlib/bin/python
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.face import verification as V
from bench.face.embeddings import OUT, Images, acquire, embed, with_flip

# Runs in the dlib Python: argv = paths file, boxes .npy, output .npz.
_DESCRIBE = r"""
import sys, numpy as np, cv2, dlib, face_recognition_models as frm
paths = open(sys.argv[1]).read().split("\n")
boxes = np.load(sys.argv[2])
sp = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
rec = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
plain = np.zeros((len(paths), 128), np.float32); flipped = np.zeros_like(plain)
for k, p in enumerate(paths):
    img = np.ascontiguousarray(cv2.imread(p)[:, :, ::-1])
    x, y, w, h = boxes[k]
    chip = dlib.get_face_chip(img, sp(img, dlib.rectangle(int(x), int(y), int(x + w), int(y + h))), size=150, padding=0.25)
    plain[k] = np.array(rec.compute_face_descriptor(chip))
    flipped[k] = np.array(rec.compute_face_descriptor(np.ascontiguousarray(chip[:, ::-1])))
unit = lambda v: v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
np.savez(sys.argv[3], plain=unit(plain), flipped=unit(flipped))
"""


def dlib_vectors(images: Images, boxes: np.ndarray, dlib_python: str) -> dict[str, np.ndarray]:
    path = OUT / f"embed-{images.digest}-320-central-dlib-resnet-v1.npz"
    if not path.is_file():
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "dlib-paths.txt").write_text("\n".join(str(p) for p in images.paths))
        np.save(OUT / "dlib-boxes.npy", boxes)
        subprocess.run([dlib_python, "-c", _DESCRIBE, str(OUT / "dlib-paths.txt"), str(OUT / "dlib-boxes.npy"),
                        str(path)], check=True)
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=V.DATA)
    parser.add_argument("--dlib-python", required=True, help="a Python with dlib-bin and face-recognition-models")
    args = parser.parse_args(argv)
    bench = V.Bench(Images.under(args.data))
    acq = acquire(bench.images, 320, "central")
    vectors = {"dlib-resnet-v1": dlib_vectors(bench.images, acq.boxes, args.dlib_python),
               "face-sface-fp32": embed(bench.images, acq, "320-central", "face-sface-fp32"),
               "face-mobilefacenet": embed(bench.images, acq, "320-central", "face-mobilefacenet")}
    print(f"command: python -m bench.face.dlib_candidate {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"{len(bench.images)} images, {len(bench.base.subjects)} people; {V.K}-fold by person; threshold aimed "
          f"at {100 * V.FIT_AIM:g} % with fmr_bound_fit; target FMR {100 * V.TARGET_FMR:g} %\n")
    print("| pipeline (YuNet@320, central face) | held-out FNMR (errors/trials; 95 % CI) | held-out FMR "
          "(errors/trials; upper 95 %) | EER, mean of folds | fusion weight of the second, by fold |")
    print("|---|---|---|---|---|")
    combos = (("dlib-resnet-v1",), ("face-sface-fp32", "dlib-resnet-v1"), ("face-mobilefacenet", "dlib-resnet-v1"))
    for flip in (False, True):
        for combo in combos:
            parts = [V.scores_of(with_flip(vectors[m], flip), acq.ok, bench.iu, bench.ju) for m in combo]
            held = bench.held_out(V.Scored(V.Candidate(320, "central", combo, flip), parts, acq.ok))
            weights = held.notes.get("fusion_weight_per_fold")
            lo, hi = held.fnmr.interval
            print(f"| {V.Candidate(320, 'central', combo, flip).name} | {100 * held.fnmr.value:.2f} % "
                  f"({held.fnmr.errors}/{held.fnmr.trials}; {100 * lo:.2f}-{100 * hi:.2f}) | "
                  f"{100 * held.fmr.value:.3f} % ({held.fmr.errors}/{held.fmr.trials}; up to "
                  f"{100 * held.fmr.interval[1]:.3f}) | {100 * held.eer:.2f} % | "
                  f"{', '.join(f'{float(w):.1f}' for w in weights) if weights else '-'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
