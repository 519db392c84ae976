"""The real processes the chaos suite starts, kills and restarts: a broker (Mosquitto or the
embedded amqtt one), central (``autogate central serve``), gates (``python -m chaos.gate``), and
a TCP proxy in front of PostgreSQL that the suite can cut without touching the shared server."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PORTS = range(1890, 1900)  # spare broker ports this project's tests may use
_taken: set[int] = set()
_taken_lock = threading.Lock()


def free_port(ports: range | None = None) -> int:
    """A free loopback port: from *ports* (brokers), or any the kernel hands out."""
    with _taken_lock:
        for port in ports or [0]:
            if port in _taken:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
                chosen = probe.getsockname()[1]
            _taken.add(chosen)
            return chosen
    raise RuntimeError(f"no free port in {ports}")


def wait_until(predicate, timeout_s: float, step_s: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    tick = threading.Event()
    for _ in range(max(1, int(timeout_s / step_s))):
        if predicate():
            return True
        tick.wait(step_s)
    return bool(predicate())


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Child:
    """One child process; its output goes to a log file in the run directory."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> Child:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last word."""
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it will not go."""
        if self.process is None:
            return None
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def wait(self, timeout_s: float) -> int | None:
        assert self.process is not None
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None


def autogate(*args: str) -> list[str]:
    return [sys.executable, "-m", "autogate", *args]


class Broker:
    """Mosquitto (``kind='mosquitto'``) or the embedded amqtt broker, on a port of its own."""

    def __init__(self, kind: str, run_dir: Path, user: str, password: str) -> None:
        self.kind, self.user, self.password = kind, user, password
        self.host, self.port = "127.0.0.1", free_port(PORTS)
        if kind == "mosquitto":
            config = run_dir / "mosquitto.conf"
            # No persistence: a killed broker loses its queues, as a crashed one without a disk
            # would; the gates' outboxes and central's gap recovery must make up for it. The queue
            # for an offline or slow central is deep, as docs/edge.md advises for production: at
            # Mosquitto's default of 1000 a central that falls behind loses messages, asks for
            # them again, and the resends deepen the backlog.
            config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                              "log_dest stderr\nlog_type error\nlog_type warning\nmax_queued_messages 200000\n")
            command = ["mosquitto", "-c", str(config)]
        else:
            from argon2 import PasswordHasher

            passwords = run_dir / "broker.passwd"
            passwords.write_text(f"{user}:{PasswordHasher().hash(password)}\n")
            command = autogate("broker", "--port", str(self.port), "--password-file", str(passwords))
        self.child = Child(f"broker-{kind}", command, run_dir / "broker.log")

    def start(self) -> Broker:
        self.child.start()
        if not wait_until(lambda: port_open(self.port) or not self.child.alive, 30):
            raise RuntimeError(f"{self.kind} broker did not listen on {self.port}")
        if not self.child.alive:
            raise RuntimeError(f"{self.kind} broker exited; see {self.child.log}")
        return self

    def kill(self) -> None:
        self.child.kill()

    def stop(self) -> None:
        self.child.stop()


class Central:
    """``autogate central serve``: web, ingest worker and gap resolver, as deployed."""

    def __init__(self, run_dir: Path, env: dict[str, str]) -> None:
        self.http_port = free_port()
        env = {**os.environ, **env, "AUTOGATE_CENTRAL_HTTP__PORT": str(self.http_port),
               "AUTOGATE_CENTRAL_HTTP__HOST": "127.0.0.1"}
        self.child = Child("central", autogate("central", "--log-level", "WARNING", "serve"), run_dir / "central.log",
                           env=env)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def start(self, timeout_s: float = 60) -> Central:
        self.child.start()
        if not wait_until(lambda: self.healthy() or not self.child.alive, timeout_s, 0.2) or not self.child.alive:
            raise RuntimeError(f"central did not come up; see {self.child.log}")
        return self

    def stop(self) -> int | None:
        return self.child.stop()


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``cut()`` drops every connection and refuses new ones
    until ``restore()``: the database is unreachable for central, and for nobody else."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._open = threading.Event()
        self._open.set()
        self._stopping = threading.Event()
        self._links: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="chaos-db-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._links.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._links.discard(source)
                self._links.discard(sink)

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            links = list(self._links)
        for s in links:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stopping.set()
        self.cut()
        self._server.close()
        self._thread.join(2)
