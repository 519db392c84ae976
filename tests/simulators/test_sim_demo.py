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

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_real_engines_holds_and_releases_and_ends_with_every_gate_in_service(tmp_path: Path) -> None:
    """The smoke test of issue 19: rendered passports read by the MRZ reader, real fingers and
    faces (an impostor's face really fails), seeded watchlist holds released by the demo
    supervisor through central, and every gate back in service when the run winds down."""
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "autogate", "demo", "--seconds", "55", "--gates", "2", "--rate", "30",
         "--http-port", str(port), "--workdir", str(tmp_path / "demo")],
        cwd=REPO, capture_output=True, text=True, timeout=420,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["gates"] == 2 and summary["url"] == f"http://127.0.0.1:{port}/"
    assert summary["travelers"] >= 4 and summary["enrolments"] >= 2
    assert summary["holds"] >= 1 and summary["releases"] >= 1, summary
    assert summary["face_mismatches"] >= 1 and summary["retries"] >= 1 and summary["referrals"] >= 1, summary
    assert summary["crossings"] >= 1, summary
    assert summary["gates_in_service_at_end"] == 2, summary["gate_states_at_end"]
    assert summary["sequence_gaps_open"] == 0
    assert "demo_supervisor" in done.stdout  # the generated logins are printed
    logs = tmp_path / "demo" / "run" / "logs"
    gate_log = (logs / "gate-01.log").read_text()
    assert "fingerprint engine, threshold" in gate_log and "face engine" in gate_log
    assert "Traceback" not in gate_log and "SIMULATED" not in gate_log
    assert "data pages read by the MRZ reader" in gate_log and "faces from" in gate_log
    central_log = (logs / "central.log").read_text()
    assert "unknown command" not in central_log and "Traceback" not in central_log


def test_a_busy_port_is_refused_at_once_with_the_port_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "autogate", "demo", "--seconds", "30", "--http-port", str(port),
             "--workdir", str(tmp_path / "demo")],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 2
    assert f"port {port}" in done.stderr and "in use" in done.stderr and "DEMO_PORT" in done.stderr
    assert not (tmp_path / "demo" / "run").exists()  # nothing was started


def test_a_faces_folder_without_two_people_is_refused(tmp_path: Path) -> None:
    (tmp_path / "faces").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "autogate", "demo", "--seconds", "30", "--http-port", str(free_port()),
         "--faces", str(tmp_path / "faces"), "--workdir", str(tmp_path / "demo")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "at least two people" in done.stderr


def test_the_enroller_enrols_each_gates_travelers_in_arrival_order(tmp_path: Path) -> None:
    import central.cases.models  # noqa: F401  (the schema as central creates it)
    import central.enrolments.models  # noqa: F401
    import central.watchlists.models  # noqa: F401
    from central.enrolments import service
    from simulators.faces import DEFAULT_FACES_DIR
    from simulators.travelers import demo_stream

    url = f"sqlite:///{tmp_path / 'central.db'}"
    database = Database(url)
    database.create_all()
    enroller = Enroller(url, [5, 6], per_gate=2, stop=threading.Event(), faces_dir=DEFAULT_FACES_DIR).start()
    enroller.join(120)
    assert enroller.enrolled == 4
    expected = []
    for seed in (5, 6):
        stream = demo_stream(seed, today=date.today())
        expected += [next(stream) for _ in range(2)]
    with database.session() as session:
        for traveler in expected:
            (row,) = service.lookup(session, traveler.document_number, traveler.nationality)
            assert row.fingerprint_iso and row.finger_position == 2 and row.source == "issuance"
            assert row.face_template is not None and row.face_model == "face-mobilefacenet"
    database.dispose()
