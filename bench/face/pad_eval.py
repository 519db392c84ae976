"""PAD evaluation with simulated attacks, reported as ISO/IEC 30107-3 asks: APCER per attack
type (attack presentations wrongly accepted) and BPCER (bona fide presentations wrongly rejected).

Bona fide and attack bursts are built from real face images (../shared/data/faces if present,
else the test portraits) by bench/face/attacks.py. The texture threshold is fitted on half of the
identities (BPCER target 1 % there) and every figure is reported on the other half.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.face.pad_eval [--frames 6] [--seed 0]

Simulated attacks are not real attack data: these figures say the mechanisms work as designed,
not what an attacker with a good screen or a mask would achieve (docs/face.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from bench.figures import emit
from edge import modelstore
from edge.face.detector import YuNetDetector
from edge.face.liveness import (
    Challenge,
    LivenessPolicy,
    assess_liveness,
    face_texture,
    texture_score,
)

from .attacks import camera, frames_for, simulate_print, simulate_screen

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "faces"
FIXTURES = ROOT / "tests" / "face" / "data"
OUT = Path(__file__).resolve().parent

# attack type -> (landmark kind, texture, does the recorded action match the asked challenge)
ATTACKS = {
    "print_still": ("still", "print", False),
    "print_moved_to_fake_turn": ("flat", "print", True),
    "print_curved_moved": ("curved", "print", True),
    "screen_photo_still": ("still", "screen", False),
    "video_replay_random_action": ("live", "screen", None),
    "video_replay_right_action": ("live", "screen", True),
}


def load(paths: list[Path]) -> list[tuple[str, np.ndarray, tuple]]:
    # 320 px: the size the texture threshold in bench/face/RESULTS.md was fitted at.
    det = YuNetDetector(modelstore.onnx_session("face-yunet"), input_size_px=320)
    out = []
    for p in paths:
        img = cv2.imread(str(p))
        faces = det.detect(img)
        if faces:
            out.append((p.parent.name if p.parent != FIXTURES else p.stem, img,
                        max(faces, key=lambda f: f.area).box))
    return out


def textures(img: np.ndarray, box: tuple, kind: str, frames: int, rng: np.random.Generator) -> list[np.ndarray]:
    sim = {"live": camera, "print": simulate_print, "screen": simulate_screen}[kind]
    shots = [face_texture(sim(img, rng), box) for _ in range(2)]
    return [shots[k % 2] for k in range(frames)]


def run(items, frames: int, seed: int, policy: LivenessPolicy) -> dict:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    results: dict[str, list] = defaultdict(list)
    for _, img, box in items:
        challenge = pick.choice(list(Challenge))
        bf = frames_for("live", challenge, textures(img, box, "live", frames, rng), rng,
                        blinks=challenge == Challenge.BLINK)
        results["bona_fide"].append(assess_liveness(bf, challenge, policy))
        for name, (kind, tex, right) in ATTACKS.items():
            shown = challenge if right else pick.choice(list(Challenge)) if right is None else None
            if shown is None:  # a photo does nothing asked of it
                track_challenge, blinks = Challenge.TURN_LEFT, False
            else:
                track_challenge, blinks = shown, shown == Challenge.BLINK
            if kind == "still":
                track_challenge = challenge
            fr = frames_for(kind, track_challenge, textures(img, box, tex, frames, rng), rng,
                            blinks=blinks and kind == "live")
            results[name].append(assess_liveness(fr, challenge, policy))
    return results


def summarise(results) -> dict:
    out = {}
    for name, rs in results.items():
        passed = sum(r.passed for r in rs)
        reasons = defaultdict(int)
        for r in rs:
            for reason in r.reasons:
                reasons[reason] += 1
        rate = passed / len(rs) if name != "bona_fide" else 1 - passed / len(rs)
        key = "BPCER" if name == "bona_fide" else "APCER"
        out[name] = {key: round(rate, 4), "presentations": len(rs), "rejections_by_reason": dict(reasons)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PAD evaluation on simulated attacks")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-identity", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.face.pad_eval {' '.join(argv or sys.argv[1:])}")
    if SHARED.is_dir():
        paths = [p for d in sorted(SHARED.iterdir()) if d.is_dir() for p in sorted(d.glob("*.jpg"))[: args.per_identity]]
    else:
        paths = sorted(FIXTURES.glob("*.jpg"))
    items = load(paths)
    people = sorted({i for i, _, _ in items})
    fit = [x for x in items if people.index(x[0]) % 2 == 0]
    test = [x for x in items if people.index(x[0]) % 2 == 1] or fit
    # Fit the texture threshold: 99th percentile of bona fide burst medians on the fit half.
    rng = np.random.default_rng(args.seed + 1)
    bf_scores = [float(np.median([texture_score(t) for t in textures(img, box, "live", args.frames, rng)]))
                 for _, img, box in fit]
    threshold = float(np.percentile(bf_scores, 99)) + 0.05
    policy = LivenessPolicy(max_texture_score=threshold)
    print(f"images: {len(items)} ({len(people)} identities); fit half {len(fit)}, test half {len(test)}; "
          f"texture threshold fitted {threshold:.3f} (policy default {LivenessPolicy().max_texture_score})")
    summary = {"texture_threshold": threshold, "results": summarise(run(test, args.frames, args.seed, policy))}
    print(json.dumps(summary, indent=1))
    for name, r in summary["results"].items():
        metric = "bpcer" if "BPCER" in r else "apcer"
        emit(f"face.pad.{name}.{metric}", r[metric.upper()], "fraction", trials=r["presentations"], held_out=True)
    (OUT / "pad_eval.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
