"""``autogate edge``: the gate process wired end to end, and the helper commands."""

from __future__ import annotations

import json
import random
import os
import signal
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from edge.cli import EXIT_CONFIG, main
from edge.link.outbox import wall_clock_ms
from protocol import topics
from protocol.envelope import open_envelope, seal
from protocol.keys import KeyPair
from protocol.messages import Command, CommandAck, CommandAction, GateState, Heartbeat, WatchlistAck

WAIT_S = 15.0  # upper bound for a broker round trip; tests wait on conditions, never sleep


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AUTOGATE_EDGE_"):
            monkeypatch.delenv(name)


def test_run_serves_state_executes_a_signed_command_and_stops_cleanly(
    mqtt_broker: Any, subscribe, tmp_path: Path, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> None:
    """The whole chain: settings -> keys -> outbox -> MqttLink -> simulated hardware -> GateRuntime."""
    key_file = tmp_path / "gate.key"
    gate_key.save(key_file)
    config = tmp_path / "gate.toml"
    config.write_text(
        f"""
gate_id = "{gate_id}"
key_file = "{key_file}"
central_public_key = "{central_key.public.b64}"
data_dir = "{tmp_path / "data"}"
[biometrics]
central_url = "http://127.0.0.1:9"
[mqtt]
host = "{mqtt_broker.host}"
port = {mqtt_broker.port}
username = "{mqtt_broker.username}"
password = "{mqtt_broker.password}"
"""
    )
    state_t, health_t, events_t = topics.gate_state(gate_id), topics.gate_health(gate_id), topics.gate_events(gate_id)
    sub = subscribe(state_t, health_t, events_t)
    keys = {gate_id: gate_key.public}

    def payloads(msgs: list[Any], topic: str) -> list[Any]:
        return [
            open_envelope(m.payload, keys=keys, now_ms=wall_clock_ms(), expected_sender=gate_id).payload
            for m in msgs
            if m.topic == topic
        ]

    gate = subprocess.Popen(
        [sys.executable, "-m", "autogate", "edge", "run", "--config", str(config), "--log-level", "WARNING"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, gate.kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        assert sub.wait_for(lambda msgs: any(isinstance(p, GateState) for p in payloads(msgs, state_t)))
        assert payloads(sub.messages, state_t)[-1].state == "idle"
        assert sub.wait_for(lambda msgs: any(p.online for p in payloads(msgs, health_t)))
        # The watchlist sync is wired: the version in force (a new gate's empty list) is acked durably.
        assert sub.wait_for(lambda msgs: any(isinstance(p, WatchlistAck) for p in payloads(msgs, events_t)))
        assert [p.version for p in payloads(sub.messages, events_t) if isinstance(p, WatchlistAck)] == [0]
        assert payloads(sub.messages, health_t)[-1].watchlist_version == 0

        command = Command(
            command_id="oos-1",
            gate_id=gate_id,
            action=CommandAction.OUT_OF_SERVICE,
            issued_by="supervisor1",
            reason="cleaning",
            expires_at_ms=wall_clock_ms() + 30_000,
        )
        sub.publish(
            topics.gate_commands(gate_id),
            seal(command, sender="central", key=central_key, seq=0, now_ms=wall_clock_ms()),
        )

        def ack(msgs: list[Any]) -> CommandAck | None:
            return next((p for p in payloads(msgs, events_t) if isinstance(p, CommandAck)), None)

        assert sub.wait_for(lambda msgs: ack(msgs) is not None)
        got = ack(sub.messages)
        assert got is not None and got.command_id == "oos-1" and got.accepted and got.state_after == "out_of_service"
        assert sub.wait_for(lambda msgs: payloads(msgs, state_t)[-1].state == "out_of_service")

        gate.send_signal(signal.SIGTERM)
        _, stderr = gate.communicate(timeout=WAIT_S)
        assert gate.returncode == 0, stderr[-2000:]
    finally:
        watchdog.cancel()
        if gate.poll() is None:
            gate.kill()
    assert sub.wait_for(lambda msgs: payloads(msgs, health_t)[-1].online is False), "a clean stop announces offline"
    last: Heartbeat = payloads(sub.messages, health_t)[-1]
    assert last.outbox_depth == 0, "the outbox drained before the gate stopped"


def test_a_passport_on_the_serial_reader_starts_a_transaction_in_the_gate_process(
    mqtt_broker: Any, subscribe, tmp_path: Path, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> None:
    """Production wiring: ``stations.passport_reader_port`` feeds the gate; the MRZ is parsed,
    checked and screened in the process, and the entry door opens for the traveler."""
    from simulators.devices.passport_reader_sim import PassportReaderSimulator
    from simulators.travelers import make_traveler

    key_file = tmp_path / "gate.key"
    gate_key.save(key_file)
    traveler = make_traveler(random.Random(5), 1, today=date.today(), foreign=False, expired=False)
    with PassportReaderSimulator() as reader_sim:
        config = tmp_path / "gate.json"
        config.write_text(json.dumps({
            "gate_id": gate_id, "key_file": str(key_file), "central_public_key": central_key.public.b64,
            "data_dir": str(tmp_path / "data"),
            "mqtt": {"host": mqtt_broker.host, "port": mqtt_broker.port, "username": mqtt_broker.username,
                     "password": mqtt_broker.password},
            "biometrics": {"central_url": "http://127.0.0.1:9"},
            "stations": {"passport_reader_port": reader_sim.port_name},
        }))
        state_t = topics.gate_state(gate_id)
        sub = subscribe(state_t)
        keys = {gate_id: gate_key.public}

        def states(msgs: list[Any]) -> list[GateState]:
            return [open_envelope(m.payload, keys=keys, now_ms=wall_clock_ms(), expected_sender=gate_id).payload
                    for m in msgs if m.topic == state_t]

        gate = subprocess.Popen(
            [sys.executable, "-m", "autogate", "edge", "run", "--config", str(config), "--log-level", "WARNING"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        watchdog = threading.Timer(90, gate.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            assert sub.wait_for(lambda msgs: any(s.state == "idle" for s in states(msgs)), timeout_s=60)
            reader_sim.present(traveler.mrz_lines, b"")
            reached = sub.wait_for(lambda msgs: states(msgs)[-1].state == "entry_open")
            if not reached:
                gate.kill()
                pytest.fail(f"states {[s.state for s in states(sub.messages)]}; gate log: {gate.communicate()[1][-3000:]}")
            shown = states(sub.messages)[-1].traveler
            assert shown is not None and shown.document_number == traveler.document_number
            gate.send_signal(signal.SIGTERM)
            _, stderr = gate.communicate(timeout=WAIT_S)
            assert gate.returncode == 0, stderr[-2000:]
        finally:
            watchdog.cancel()
            if gate.poll() is None:
                gate.kill()


def test_outbox_command_reports_depth_and_seq(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "g.json"
    config.write_text(json.dumps({"gate_id": "G9", "demo_mode": True, "data_dir": str(tmp_path / "d")}))
    assert main(["outbox", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "compacted": 0,
        "depth": 0,
        "gate_id": "G9",
        "last_seq": 0,
        "oldest_pending_created_at_ms": None,
        "path": str(tmp_path / "d" / "G9.outbox.sqlite"),
    }
    assert (tmp_path / "d" / "G9.demo.key").exists(), "a demo gate keeps a generated key for its next start"


def test_missing_keys_refuse_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Outside demo mode a gate without keys must not run at all."""
    config = tmp_path / "g.json"
    config.write_text(json.dumps({"gate_id": "G9", "data_dir": str(tmp_path / "d")}))
    assert main(["run", "--config", str(config)]) == EXIT_CONFIG
    assert "key_file and central_public_key required" in capsys.readouterr().err
    assert not (tmp_path / "d").exists(), "nothing was created"


def test_demo_clock_keeps_wall_pace_and_stops_at_once() -> None:
    """The demo's traveler driver must not race ahead of real time, nor keep a stopping gate alive."""
    from edge.cli import _DemoStopped, _paced_scheduler

    stop = threading.Event()
    clock = _paced_scheduler(stop)
    fired: list[float] = []
    clock.call_later(0.01, lambda: fired.append(clock.now_s()))
    clock.advance(0.02)
    assert fired == [0.01]
    stop.set()
    with pytest.raises(_DemoStopped):
        clock.advance(3600)  # returns at once: the stop Event is already set
    assert clock.now_s() == pytest.approx(0.02)
