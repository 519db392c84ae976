"""The recognition benchmark still runs (a tiny run: it checks the bench, not the speed)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def test_the_recognition_bench_runs_and_reports_each_step(capsys) -> None:
    from bench.gate import recognition

    assert recognition.main(["--travelers", "2", "--entries", "300", "--frames", "3"]) == 0
    out = capsys.readouterr().out
    for step in ("step 3 scan", "step 5 fingerprint", "step 6 face"):
        assert step in out
    assert "'finger_match': 2" in out  # a genuine synthetic press matches its enrolment
