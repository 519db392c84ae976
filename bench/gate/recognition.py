"""The gate's recognition steps on the real engines, against the SOP's time standards.

Per traveler, as ``GateRuntime`` runs them (edge/gate/recognition.py and biometrics.py):

- step 3, scan (SOP: 5 s for the scan, the checks and the watchlist): MRZ parse of the lines the
  reader returned, document checks, screening against a local watchlist of ``--entries``;
- step 5, fingerprint (SOP: conditional): extraction of a synthetic 256 x 288 sensor press and
  the 1:1 match against the ISO/IEC 19794-2 enrolment;
- step 6, face (SOP: conditional): a burst of ``--frames`` frames (detect, align, quality for
  each), the best one embedded and compared, and the liveness check over the burst.

The enrolment comes from memory here (the signed HTTP fetch is measured apart:
``bench/enrolments``; it is prefetched while the traveler walks in). Faces are the repository's
public-domain test portraits (tests/face/data); fingers are synthetic (simulators/fingerprints).

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python -m bench.gate.recognition [--travelers 30] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from edge.face import FaceEngine
from edge.face.liveness import Challenge
from edge.fingerprint import FingerprintEngine
from edge.gate.biometrics import FaceSample, FaceVerifier, FingerprintVerifier
from edge.gate.enrolment_client import EnrolledTemplates, EnrolmentLookup
from edge.gate.recognition import (
    CameraMrzReader,
    PolicyDocumentChecker,
    PresentedDocument,
    ScreenerWatchlist,
    traveler_from_mrz,
)
from edge.watchlist.screen import Screener
from simulators.fingerprints import enrolment_press, traveler_finger
from simulators.travelers import TravelerRates, traveler_stream

RESULTS = Path(__file__).with_name("RESULTS.md")
PORTRAITS = Path(__file__).resolve().parents[2] / "tests" / "face" / "data"
SOP_SCAN_S = 5.0  # autogate.md step 3


class Memory:
    def __init__(self) -> None:
        self.items: dict[str, EnrolledTemplates] = {}

    def fetch(self, document_number: str, issuing_state: str) -> EnrolmentLookup:
        found = self.items.get(document_number)
        return EnrolmentLookup("found", found) if found else EnrolmentLookup("miss")


def summary(name: str, samples_s: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{name}: n={len(ms)} p50_ms={statistics.median(ms):.1f} p95_ms={p95:.1f} max_ms={ms[-1]:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--travelers", type=int, default=30)
    parser.add_argument("--entries", type=int, default=100_000, help="local watchlist size")
    parser.add_argument("--frames", type=int, default=8, help="frames in a face burst")
    parser.add_argument("--write", action="store_true", help="append the figures to bench/gate/RESULTS.md")
    args = parser.parse_args(argv)

    from bench.watchlist import synth

    started = time.perf_counter()
    watchlist = ScreenerWatchlist(Screener(synth.entries(args.entries, seed=3)), version=1)
    build_s = time.perf_counter() - started
    face_engine, finger_engine = FaceEngine.from_models(), FingerprintEngine.from_models()
    enrolments = Memory()
    reader, checker = CameraMrzReader(), PolicyDocumentChecker()
    fingerprint = FingerprintVerifier(finger_engine, enrolments)
    face = FaceVerifier(face_engine, enrolments, require_liveness=True)
    enrolled_face = face_engine.template(cv2.imread(str(PORTRAITS / "obama.jpg")))
    live = cv2.imread(str(PORTRAITS / "obama2.jpg"))
    # a burst: the traveler moves a little between frames (small shifts of the same capture)
    burst = tuple(cv2.warpAffine(live, np.float32([[1, 0, k % 3], [0, 1, k % 2]]),
                                 (live.shape[1], live.shape[0])) for k in range(args.frames))
    rates = TravelerRates(foreign=0, expired=0, unreadable_document=0, finger_mismatch=0, finger_unreadable=0,
                          face_mismatch=0, face_unreadable=0)
    today = date.today()
    scan, finger, face_s, outcomes = [], [], [], {"finger_match": 0, "face_refused_liveness": 0}
    for traveler in islice(traveler_stream(17, today=today, rates=rates), args.travelers):
        iso = finger_engine.to_iso(finger_engine.extract(enrolment_press(traveler)))
        enrolments.items[traveler.document_number] = EnrolledTemplates(
            document_number=traveler.document_number, issuing_state=traveler.nationality, fields={},
            face=enrolled_face.embedding, face_model=face_engine.embedder_name,
            face_model_version=face_engine.embedder_version, fingerprint_iso=iso, finger_position=2)
        press = traveler_finger(traveler, "genuine", 0)

        t0 = time.perf_counter()
        mrz = reader.read(PresentedDocument(mrz_lines=traveler.mrz_lines), today=today)
        checker.check(mrz, today=today)
        watchlist.screen(traveler_from_mrz(mrz), today=today)
        t1 = time.perf_counter()
        result = fingerprint.verify(press, traveler_from_mrz(mrz))
        t2 = time.perf_counter()
        verdict = face.verify(FaceSample(frames=burst, challenge=Challenge.BLINK), traveler_from_mrz(mrz))
        t3 = time.perf_counter()
        scan.append(t1 - t0)
        finger.append(t2 - t1)
        face_s.append(t3 - t2)
        outcomes["finger_match"] += int(result.match)
        outcomes["face_refused_liveness"] += int((verdict.result.refused_reason or "").startswith("liveness"))

    import os

    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    command = f"OMP_NUM_THREADS={threads} python -m bench.gate.recognition " + " ".join(argv or sys.argv[1:])
    lines = [
        f"command: {command.strip()}",
        f"watchlist: {args.entries:,} entries built in {build_s:.1f} s; face model {face_engine.embedder_name}; "
        f"burst {args.frames} frames",
        summary(f"step 3 scan (parse + checks + screening; SOP {SOP_SCAN_S:g} s)", scan),
        summary("step 5 fingerprint (extract + 1:1)", finger),
        summary(f"step 6 face (burst of {args.frames}: detect/align/quality each, embed best, liveness)", face_s),
        f"outcomes: {outcomes} of {args.travelers} (the burst is one still portrait shifted by pixels, so liveness"
        " refuses it, as it should; the timing includes the embedding and the evidence crop)",
    ]
    print("\n".join(lines))
    from bench.figures import emit

    for step, samples in (("scan", scan), ("fingerprint", finger), ("face", face_s)):
        emit(f"gate.recognition.{step}_p50_ms", statistics.median(samples) * 1000, "ms", command=command.strip(),
             trials=len(samples))
    if args.write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n## Recognition on the engines, per traveler\n\nMeasured on the shared 2-core build machine "
                      "(loaded).\n\n```\n" + "\n".join(lines) + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
