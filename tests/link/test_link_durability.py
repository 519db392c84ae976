"""A real gate process killed with SIGKILL: nothing it queued is lost, and the broker says it is offline."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from edge.link.outbox import wall_clock_ms
from protocol import topics
from protocol.envelope import open_envelope
from protocol.keys import KeyPair

WAIT_S = 60.0  # an upper bound only (a loaded 2-core CI machine starts a child python slowly); tests wait on conditions, never sleep


REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 60.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


class FreezableProxy:
    """A TCP relay between the gate and the broker that can stop passing the broker's replies.

    Frozen, the gate's publishes still reach the broker (and subscribers) but no PUBACK gets
    back, which is exactly the window a crash must survive: sent, maybe received, not confirmed.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, freezable: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (freezable and self.frozen.is_set()):
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()


def write_config(
    tmp_path: Path,
    broker: Any,
    gate_id: str,
    gate_key: KeyPair,
    central_key: KeyPair,
    *,
    port: int | None = None,
    name: str = "gate",
) -> Path:
    key_file = tmp_path / "gate.key"
    gate_key.save(key_file)
    config = {
        "gate_id": gate_id,
        "mqtt": {
            "host": broker.host,
            "port": port or broker.port,
            "username": broker.username,
            "password": broker.password,
        },
        "key_file": str(key_file),
        "central_public_key": central_key.public.b64,
        "data_dir": str(tmp_path / "data"),
        "heartbeat_interval_s": 60,
        "biometrics": {"central_url": "http://127.0.0.1:9"},  # required of a production gate; unused here
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def spawn(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGATE_EDGE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "autogate", "edge", "emit", "--config", str(config), "--log-level", "WARNING", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    # A watchdog, not a synchroniser: a wedged child must not hang the suite.
    watchdog = threading.Timer(CHILD_TIMEOUT_S, process.kill)
    watchdog.daemon = True
    watchdog.start()
    return process


def read_until(process: subprocess.Popen[str], prefix: str, count: int = 1) -> list[str]:
    """Read the child's stdout until *count* lines start with *prefix*."""
    assert process.stdout is not None
    seen: list[str] = []
    while len(seen) < count:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"child ended (rc={process.poll()}) after {len(seen)} lines starting {prefix!r}")
        if line.startswith(prefix):
            seen.append(line.strip())
    return seen


def outbox_rows(data_dir: Path, gate_id: str) -> list[tuple[int, str, bytes, int | None]]:
    db = sqlite3.connect(data_dir / f"{gate_id}.outbox.sqlite")
    try:
        return db.execute("SELECT seq, message_id, envelope, delivered_at_ms FROM outbox ORDER BY seq").fetchall()
    finally:
        db.close()


def test_sigkilled_gate_delivers_everything_in_order_once_by_id_and_is_shown_offline(
    mqtt_broker: Any, subscribe, tmp_path: Path, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> None:
    """The foundation promise: an event on disk before a crash reaches central after the restart.

    And a dead edge process must not look alive on the supervisor console: its retained last will
    says offline until it comes back.
    """
    events, health = topics.gate_events(gate_id), topics.gate_health(gate_id)
    sub = subscribe(events, health)
    proxy = FreezableProxy(mqtt_broker.host, mqtt_broker.port)
    via_proxy = write_config(tmp_path, mqtt_broker, gate_id, gate_key, central_key, port=proxy.port, name="via-proxy")
    config = write_config(tmp_path, mqtt_broker, gate_id, gate_key, central_key)
    try:
        # Paced so it is still emitting when killed: 1000 events at 10 ms would take 10 s.
        first = spawn(via_proxy, "--count", "1000", "--interval-ms", "10")
        read_until(first, "queued seq=", 20)
        assert sub.wait_for(lambda msgs: len(msgs) >= 5), "some events are delivered before trouble starts"
        proxy.frozen.set()  # from now on the gate's publishes get no PUBACK
        queued = read_until(first, "queued seq=", 40)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(WAIT_S) == -signal.SIGKILL
    finally:
        proxy.close()

    def beats(msgs: list[Any]) -> list[Any]:
        return [opened(m.payload, gate_key, gate_id) for m in msgs if m.topic == health]

    assert sub.wait_for(lambda msgs: beats(msgs) and beats(msgs)[-1].online is False), "the will says offline"
    late = subscribe(health)
    assert late.wait_for(lambda msgs: len(msgs) >= 1)
    assert late.messages[-1].retain and beats(late.messages)[-1].online is False, "and it is retained"

    on_disk = outbox_rows(tmp_path / "data", gate_id)
    last_printed = int(queued[-1].split("=")[1])
    assert [r[0] for r in on_disk] == list(range(1, len(on_disk) + 1)), "seqs on disk are gapless"
    assert len(on_disk) >= last_printed >= 60, "every event acknowledged to the caller is on disk"
    assert len(on_disk) < 1000, "the gate was killed mid-stream"
    undelivered_at_kill = sum(1 for r in on_disk if r[3] is None)
    assert undelivered_at_kill >= 40, "the events queued after the freeze wait for their PUBACK"

    second = spawn(config, "--count", "20")
    assert read_until(second, "delivered=")[0].startswith("delivered=true")
    assert second.wait(WAIT_S) == 0
    total = len(on_disk) + 20

    def all_ids_seen(msgs: list[Any]) -> bool:
        return len({json.loads(m.payload)["message_id"] for m in msgs if m.topic == events}) >= total

    assert sub.wait_for(all_ids_seen)
    final_rows = outbox_rows(tmp_path / "data", gate_id)
    assert [r[0] for r in final_rows] == list(range(1, total + 1)), "the restart continued the sequence"
    assert all(r[3] is not None for r in final_rows), "every row was cleared by its PUBACK"

    by_id: dict[str, bytes] = {}
    first_seen_seqs: list[int] = []
    for message in sub.on(events):
        envelope = opened(message.payload, gate_key, gate_id, whole=True)
        if envelope.message_id in by_id:
            assert by_id[envelope.message_id] == message.payload, "a resend is byte-identical"
            continue
        by_id[envelope.message_id] = message.payload
        first_seen_seqs.append(envelope.seq)
    assert first_seen_seqs == list(range(1, total + 1)), "central sees every event once, in order"
    assert {r[1]: bytes(r[2]) for r in final_rows} == by_id, "what arrived is exactly what was stored"


def opened(data: bytes, key: KeyPair, gate_id: str, *, whole: bool = False) -> Any:
    envelope = open_envelope(data, keys={gate_id: key.public}, now_ms=wall_clock_ms(), expected_sender=gate_id)
    return envelope if whole else envelope.payload
