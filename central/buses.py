"""Event buses between processes: ingest in one process, consoles in others.

The in-process :class:`~central.events.LocalBus` reaches only subscribers of its own process,
which is all ``autogate central serve`` on SQLite needs. Once central runs as several processes
(web workers behind a load balancer, ingest workers apart), a notice committed by one ingest
process must reach the console streams of every web process, each exactly once. Two existing
engines carry it, chosen by ``AUTOGATE_CENTRAL_BUS__KIND`` (:func:`build_bus`):

* :class:`PostgresBus` — ``pg_notify`` / ``LISTEN`` on the database central already uses: no
  new service, and every process that can commit can also notify.
* :class:`MqttBus` — a topic on the broker the gates already use, for deployments whose database
  is not PostgreSQL (or that want the notices off the database).

Both publish outward only: a process hears its own notices back through its listener, like any
other process, so a process that both ingests and serves consoles sees each notice once. Each
process keeps one listener (a connection or an MQTT client), whatever the number of open
consoles, and fans notices out to its local subscribers through a :class:`LocalBus`.

Publishing never raises and never blocks ingest for long: the notice follows a commit that has
already happened, and a console that misses one heals on its next full read (console.js
re-reads every 30 s with the stream open). Lost notices are counted in ``lost``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from typing import Any

from central.events import EventBus, LocalBus, Notice, Subscription, default_bus
from central.settings import BusSettings, CentralSettings, MqttSettings, apply_login

log = logging.getLogger(__name__)

RETRY_INITIAL_S = 0.5
RETRY_MAX_S = 30.0
OUTBOX_SIZE = 10_000  # notices waiting to be sent; past it they are counted lost
BATCH_MAX = 500  # notices sent in one round trip at most
PAYLOAD_MAX = 7_000  # bytes of one NOTIFY payload (PostgreSQL's limit is 8,000)


def encode_notice(notice: Notice) -> str:
    """A notice as compact JSON (ids only: a notice never carries personal data)."""
    return json.dumps({"g": notice.gate_id, "c": notice.channel, "m": notice.message_id, "o": notice.outcome},
                      separators=(",", ":"))


def encode_batch(notices: list[Notice]) -> str:
    """Several notices in one payload (a JSON array), in order."""
    return "[" + ",".join(encode_notice(n) for n in notices) + "]"


def decode_payload(payload: str | bytes) -> list[Notice]:
    """The notices in a payload: one notice, or a batch (:func:`encode_batch`); what is not a
    notice is dropped and logged."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        log.warning("bus: dropped a payload that is not a notice (%s)", type(exc).__name__)
        return []
    items = data if isinstance(data, list) else [data]
    return [n for n in (_notice_from(item) for item in items) if n is not None]


def decode_notice(payload: str | bytes) -> Notice | None:
    """The notice in *payload*, or None (logged) for anything that is not one: the bus is a
    channel or topic that something else could write to, and a listener must survive it."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        log.warning("bus: dropped a payload that is not a notice (%s)", type(exc).__name__)
        return None
    return _notice_from(data)


def _notice_from(data: object) -> Notice | None:
    try:
        if not isinstance(data, dict):
            raise ValueError("not an object")
        gate_id, channel, message_id, outcome = data["g"], data["c"], data.get("m"), data.get("o", "")
        if not (isinstance(gate_id, str) and isinstance(channel, str) and isinstance(outcome, str)
                and (message_id is None or isinstance(message_id, str))):
            raise ValueError("fields of the wrong type")
        if len(gate_id) > 64 or len(channel) > 32 or len(outcome) > 64 or (message_id and len(message_id) > 128):
            raise ValueError("fields too long")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        log.warning("bus: dropped a payload that is not a notice (%s)", type(exc).__name__)
        return None
    return Notice(gate_id, channel, message_id, outcome)


class RelayBus:
    """What both buses share: local fan-out of what the listener hears, and its lifecycle.

    ``start()`` opens the listener (idempotent); :meth:`subscribe` starts it too and waits up to
    ``ready_timeout_s`` until it listens, so a stream that has sent its first frame misses no
    later notice. Subclasses implement ``publish``, ``_run_listener`` and ``_close_publisher``."""

    kind = "relay"

    def __init__(self, *, ready_timeout_s: float = 5.0) -> None:
        self._local = LocalBus()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready_timeout_s = ready_timeout_s
        self.lost = 0  # notices this process failed to publish
        self.heard = 0  # notices the listener handed to local subscribers

    # -- EventBus ---------------------------------------------------------------------------
    def publish(self, notice: Notice) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def subscribe(self) -> Subscription:
        self.start()
        if not self._ready.wait(self._ready_timeout_s):
            log.warning("bus %s: not listening after %.0f s; the console heals on its next full read",
                        self.kind, self._ready_timeout_s)
        return self._local.subscribe()

    def close_subscriptions(self) -> None:
        self._local.close_subscriptions()

    @property
    def subscriber_count(self) -> int:
        return self._local.subscriber_count

    @property
    def is_listening(self) -> bool:
        return self._ready.is_set()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run_listener, name=f"bus-{self.kind}", daemon=True)
            self._thread.start()

    def wait_until_listening(self, timeout_s: float) -> bool:
        self.start()
        return self._ready.wait(timeout_s)

    def close(self) -> None:
        """End the streams, stop the listener and the publisher; idempotent."""
        self._stop.set()
        self._local.close_subscriptions()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._close_publisher()

    def _deliver(self, payload: str | bytes) -> None:
        for notice in decode_payload(payload):
            self.heard += 1
            self._local.publish(notice)

    def _run_listener(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close_publisher(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def libpq_conninfo(database_url: str) -> str:
    """The libpq URI for a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://`` → ``postgresql://``),
    keeping its query (``options=-csearch_path=...``, ``sslmode``...)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {url.render_as_string(hide_password=True)}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBus(RelayBus):
    """Notices over PostgreSQL ``NOTIFY``/``LISTEN`` on *channel*.

    One autocommit connection publishes (``SELECT pg_notify``), another listens; both reconnect
    by themselves. NOTIFY is database-wide, not per schema: deployments (or tests) sharing one
    database choose distinct channels."""

    kind = "postgres"

    def __init__(self, conninfo: str, *, channel: str = "autogate_notices", ready_timeout_s: float = 5.0,
                 connect_timeout_s: int = 3) -> None:
        super().__init__(ready_timeout_s=ready_timeout_s)
        self._conninfo = conninfo
        self._channel = channel
        self._connect_timeout_s = connect_timeout_s
        self._publish_lock = threading.Lock()
        self._publish_conn: Any = None
        self._outbox: queue.Queue[Notice] = queue.Queue(OUTBOX_SIZE)
        self._sender: threading.Thread | None = None

    def publish(self, notice: Notice) -> None:
        """Queue the notice; a sender thread sends what has queued up in one round trip, so ingest
        at thousands of messages a second never waits on NOTIFY (nor on a reconnect)."""
        self._start_sender()
        try:
            self._outbox.put_nowait(notice)
        except queue.Full:
            self.lost += 1
            log.warning("bus postgres: %d notices waiting; notice for %s dropped", OUTBOX_SIZE, notice.gate_id)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued notice was sent (or counted lost); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._outbox.unfinished_tasks

    def _start_sender(self) -> None:
        if self._sender is None:
            with self._start_lock:
                if self._sender is None:
                    self._sender = threading.Thread(target=self._run_sender, name="bus-postgres-send", daemon=True)
                    self._sender.start()

    def _run_sender(self) -> None:
        while True:
            try:
                first = self._outbox.get(timeout=0.5)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self._send(batch)
            finally:
                for _ in batch:
                    self._outbox.task_done()

    def _send(self, batch: list[Notice]) -> None:
        import psycopg

        # NOTIFY payloads stop at 8,000 bytes: chunks well below, all in one statement.
        chunks: list[str] = []
        current: list[Notice] = []
        for notice in batch:
            current.append(notice)
            if len(encode_batch(current)) > PAYLOAD_MAX:
                current.pop()
                chunks.append(encode_batch(current))
                current = [notice]
        chunks.append(encode_batch(current))
        statement = "SELECT " + ", ".join(["pg_notify(%s, %s)"] * len(chunks))
        params = [value for chunk in chunks for value in (self._channel, chunk)]
        with self._publish_lock:
            for attempt in (1, 2):  # a connection dropped since the last batch gets one fresh try
                try:
                    if self._publish_conn is None or self._publish_conn.closed:
                        self._publish_conn = psycopg.connect(
                            self._conninfo, autocommit=True, connect_timeout=self._connect_timeout_s)
                    self._publish_conn.execute(statement, params)
                    return
                except psycopg.Error as exc:
                    self._drop_publish_conn()
                    if attempt == 2:
                        self.lost += len(batch)
                        log.warning("bus postgres: %d notices not sent (%s)", len(batch), type(exc).__name__)

    def _drop_publish_conn(self) -> None:
        conn, self._publish_conn = self._publish_conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail in any way
                pass

    def _close_publisher(self) -> None:
        self.flush()  # what ingest committed before the stop still reaches the consoles
        sender = self._sender
        if sender is not None:
            sender.join(2.0)
        with self._publish_lock:
            self._drop_publish_conn()

    def _run_listener(self) -> None:
        import psycopg
        from psycopg import sql

        backoff = RETRY_INITIAL_S
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._connect_timeout_s) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._ready.set()
                    log.info("bus postgres: listening on %s", self._channel)
                    backoff = RETRY_INITIAL_S
                    while not self._stop.is_set():
                        # A short timeout so that close() is noticed within a second.
                        for note in conn.notifies(timeout=1.0):
                            self._deliver(note.payload)
            except psycopg.Error as exc:
                self._ready.clear()
                if self._stop.is_set():
                    return
                log.warning("bus postgres: listener lost (%s); retrying in %.1f s", type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_S)
        self._ready.clear()


class MqttBus(RelayBus):
    """Notices on an MQTT *topic* of the gates' broker (QoS 1, never retained).

    One paho client per process, with a clean session and a unique id, both publishes and
    listens. Notices published while the client is not connected are counted lost (paho would
    otherwise queue them without bound)."""

    kind = "mqtt"

    def __init__(self, settings: MqttSettings, *, topic: str = "autogate/v1/central/notices",
                 ready_timeout_s: float = 5.0, client_id: str | None = None) -> None:
        super().__init__(ready_timeout_s=ready_timeout_s)
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._settings = settings
        self._topic = topic
        self._connected = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311, clean_session=True,
                                   client_id=client_id or f"autogate-bus-{uuid.uuid4().hex[:12]}")
        apply_login(self._client, settings)
        self._client.reconnect_delay_set(1, 30)
        self._client.enable_logger(logging.getLogger("central.bus.paho"))
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.message_callback_add(topic, lambda _c, _u, message: self._deliver(bytes(message.payload)))

    def publish(self, notice: Notice) -> None:
        if not self._connected.is_set():
            self.lost += 1
            log.warning("bus mqtt: not connected; notice for %s not sent", notice.gate_id)
            return
        info = self._client.publish(self._topic, encode_notice(notice).encode(), qos=1, retain=False)
        if info.rc != 0:
            self.lost += 1
            log.warning("bus mqtt: notice for %s not sent (rc %s)", notice.gate_id, info.rc)

    def _run_listener(self) -> None:
        # paho runs its own network thread; this thread only starts it and waits for the stop.
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s)
        self._client.loop_start()
        self._stop.wait()
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: Any, _userdata: object, _flags: object, reason_code: Any, _props: object) -> None:
        if getattr(reason_code, "is_failure", False):
            log.error("bus mqtt: broker refused the connection: %s", reason_code)
            return
        self._connected.set()
        client.subscribe(self._topic, qos=1)  # on every connect: the session is clean

    def _on_subscribe(self, _client: Any, _userdata: object, _mid: int, reason_codes: list, _props: object) -> None:
        if any(getattr(code, "is_failure", False) for code in reason_codes):
            log.error("bus mqtt: subscription to %s refused: %s", self._topic, reason_codes)
            return
        self._ready.set()
        log.info("bus mqtt: listening on %s", self._topic)

    def _on_disconnect(self, _client: Any, _userdata: object, _flags: object, reason_code: object, _props: object) -> None:
        self._connected.clear()
        self._ready.clear()
        if not self._stop.is_set():
            log.warning("bus mqtt: disconnected (%s); paho reconnects", reason_code)

    def _close_publisher(self) -> None:
        pass  # the listener thread disconnects the one client


def bus_kind(settings: CentralSettings) -> str:
    """``auto`` made concrete: PostgreSQL's own LISTEN/NOTIFY where the database is PostgreSQL,
    else the in-process bus (the zero-setup SQLite demo runs in one process)."""
    kind = settings.bus.kind
    if kind == "auto":
        return "postgres" if settings.database_url.startswith("postgresql") else "local"
    return kind


def build_bus(settings: CentralSettings) -> EventBus:
    """The bus the settings choose (see the module docstring); not started yet."""
    bus_settings: BusSettings = settings.bus
    kind = bus_kind(settings)
    if kind == "local":
        return default_bus()
    if kind == "postgres":
        return PostgresBus(libpq_conninfo(settings.database_url), channel=bus_settings.channel,
                           ready_timeout_s=bus_settings.ready_timeout_s)
    return MqttBus(settings.mqtt, topic=bus_settings.topic, ready_timeout_s=bus_settings.ready_timeout_s)


def start_bus(bus: EventBus) -> None:
    starter = getattr(bus, "start", None)
    if starter is not None:
        starter()


def close_bus(bus: EventBus) -> None:
    """Close a bus built by :func:`build_bus`; the process's LocalBus only ends its streams."""
    closer = getattr(bus, "close", None)
    if closer is not None:
        closer()
    else:
        bus.close_subscriptions()
