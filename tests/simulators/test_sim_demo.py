"""``autogate demo``: the whole hall on embedded defaults, briefly, and the parts it is built of."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

from central.db import Database
from simulators.broker import free_port
from simulators.demo import Enroller
from simulators.travelers import traveler_stream

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_runs_a_hall_with_real_fingerprints_and_reports_what_central_stored(tmp_path: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "autogate", "demo", "--seconds", "15", "--gates", "2", "--rate", "30",
         "--http-port", str(port), "--workdir", str(tmp_path / "demo")],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["gates"] == 2 and summary["url"] == f"http://127.0.0.1:{port}/"
    assert summary["travelers"] >= 1 and summary["enrolments"] >= 2
    assert summary["sequence_gaps_open"] == 0
    assert "demo_supervisor" in done.stdout  # the generated logins are printed
    logs = tmp_path / "demo" / "run" / "logs"
    gate_log = (logs / "gate-01.log").read_text()
    assert "fingerprint engine, threshold" in gate_log and "Traceback" not in gate_log
    assert "commands" in summary  # supervisor decisions go through central (simulators/supervisor.py)
    assert "unknown command" not in (logs / "central.log").read_text()


def test_the_enroller_enrols_each_gates_travelers_in_arrival_order(tmp_path: Path) -> None:
    import central.cases.models  # noqa: F401  (the schema as central creates it)
    import central.enrolments.models  # noqa: F401
    import central.watchlists.models  # noqa: F401
    from central.enrolments import service

    url = f"sqlite:///{tmp_path / 'central.db'}"
    database = Database(url)
    database.create_all()
    enroller = Enroller(url, [5, 6], per_gate=2, stop=threading.Event()).start()
    enroller.join(60)
    assert enroller.enrolled == 4
    expected = []
    for seed in (5, 6):
        stream = traveler_stream(seed, today=date.today())
        expected += [next(stream) for _ in range(2)]
    with database.session() as session:
        for traveler in expected:
            (row,) = service.lookup(session, traveler.document_number, traveler.nationality)
            assert row.fingerprint_iso and row.finger_position == 2 and row.source == "issuance"
            assert row.face_template is None  # faces are simulated in the demo
    database.dispose()
