"""The embedded MQTT broker for zero-setup runs (demo, tests, a laptop hall).

Production uses Mosquitto or an EMQX cluster; this wraps amqtt (pure Python, asyncio, on PyPI)
so `make demo` needs nothing installed system-wide. It runs in its own thread with its own
event loop, so the rest of a process stays synchronous, and it binds to loopback only.

Per-gate credentials and topic ACLs: pass ``users`` (name -> password), ``publish_acl`` and
``subscribe_acl`` (name -> topic filters); anonymous access is then refused.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class _SnapshotSubscriptions(dict):  # type: ignore[type-arg]
    """amqtt's topic-filter table, iterated over a copy.

    amqtt 0.12 broadcasts each message while iterating ``self._subscriptions.items()`` across
    ``await`` points; a client subscribing meanwhile raised "dictionary changed size during
    iteration" and the message reached no subscriber after that point (seen once in a demo run;
    central's gap recovery then had to fetch it again). Iterating a snapshot gives every
    current subscriber the message."""

    def items(self):  # type: ignore[override]
        return list(super().items())

    def __iter__(self):  # type: ignore[override]
        return iter(list(super().keys()))


def _broker_class() -> type:
    """amqtt's Broker with two fixes: retained messages go only to a session's own
    subscriptions, and broadcasting survives a concurrent subscribe (``_SnapshotSubscriptions``).

    amqtt 0.12 replays, to every reconnecting persistent session, the retained messages of
    every topic filter *any* client subscribed to (``for topic in self._subscriptions``), so a
    gate would receive other gates' retained state. Here a retained replay for a filter is sent
    only when the session itself holds that subscription, as MQTT 3.1.1 §3.3.1.3 requires.
    """
    from amqtt.broker import Broker

    class SubscriptionScopedBroker(Broker):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._subscriptions = _SnapshotSubscriptions(self._subscriptions)

        async def _publish_retained_messages_for_subscription(self, subscription: Any, session: Any) -> None:
            topic_filter = subscription[0]
            subscribers = self._subscriptions.get(topic_filter, [])
            own = [qos for subscriber, qos in subscribers if subscriber.client_id == session.client_id]
            if not own:
                return
            await super()._publish_retained_messages_for_subscription((topic_filter, own[0]), session)

    return SubscriptionScopedBroker


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedBroker:
    """An amqtt broker on ``host:port`` (a free port when 0), started and stopped from sync code.

    ``with EmbeddedBroker() as broker: ... broker.port ...``
    """

    host: str = "127.0.0.1"
    port: int = 0
    users: dict[str, str] | None = None
    password_file: Path | None = None
    publish_acl: dict[str, list[str]] | None = None
    subscribe_acl: dict[str, list[str]] | None = None
    kind: str = "embedded"
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _broker: Any = field(default=None, init=False, repr=False)
    _started: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _error: BaseException | None = field(default=None, init=False, repr=False)

    def _write_password_file(self) -> Path:
        """Argon2 hashes of ``users`` in a private temporary file, as amqtt's FileAuthPlugin reads."""
        import tempfile

        from argon2 import PasswordHasher

        hasher = PasswordHasher()
        handle = tempfile.NamedTemporaryFile(
            "w", prefix="autogate-broker-", suffix=".passwd", delete=False, encoding="utf-8"
        )
        with handle:
            for name, password in (self.users or {}).items():
                handle.write(f"{name}:{hasher.hash(password)}\n")
        return Path(handle.name)

    def _config(self) -> dict[str, Any]:
        plugins: dict[str, Any] = {}
        if self.users is not None and self.password_file is None:
            self.password_file = self._write_password_file()
        if self.password_file is not None:
            # Authenticated sessions only: amqtt keeps no offline queue for anonymous clients,
            # and per-client credentials are what production brokers use too.
            plugins["amqtt.plugins.authentication.FileAuthPlugin"] = {
                "password_file": str(self.password_file)
            }
        else:
            plugins["amqtt.plugins.authentication.AnonymousAuthPlugin"] = {"allow_anonymous": True}
        if self.publish_acl is not None or self.subscribe_acl is not None:
            plugins["amqtt.plugins.topic_checking.TopicAccessControlListPlugin"] = {
                "acl": self.subscribe_acl or {},
                "publish_acl": self.publish_acl or {},
            }
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 512}
            },
            "timeout_disconnect_delay": 2,
            "session_expiry_interval": 7 * 24 * 3600,
            "plugins": plugins,
        }

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = _broker_class()(self._config(), loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # reported to start() on the caller's thread
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def start(self, timeout_s: float = 10.0) -> "EmbeddedBroker":
        if self.port == 0:
            self.port = free_port(self.host)
        self._thread = threading.Thread(target=self._run, name=f"mqtt-broker:{self.port}", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise TimeoutError(f"embedded broker on {self.host}:{self.port} did not start in {timeout_s} s")
        if self._error is not None:
            raise RuntimeError(f"embedded broker on {self.host}:{self.port} failed: {self._error}") from self._error
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or not loop.is_running():
            return
        future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            future.result(timeout_s)
        except Exception:  # shutting down: a failure here must not hide the caller's own error
            log.exception("embedded broker shutdown failed")
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._loop = None
        log.info("embedded MQTT broker on %s:%d stopped", self.host, self.port)

    def client_connected(self, client_id: str) -> bool:
        """Whether the broker still counts *client_id* as connected.

        amqtt handles a DISCONNECT asynchronously; until it has, it routes that session's
        messages to the closed socket. Tests that reconnect a persistent session wait on this.
        """
        broker = self._broker
        if broker is None:
            return False
        entry = broker._sessions.get(client_id)
        return bool(entry) and entry[0].transitions.state == "connected"

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autogate broker", description="Run the embedded MQTT broker.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--password-file", type=Path, default=None, help="user:sha512-crypt lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmbeddedBroker(host=args.host, port=args.port, password_file=args.password_file) as broker:
        print(f"MQTT broker on {broker.host}:{broker.port}", flush=True)
        stop.wait()
    return 0
