"""``MqttLink``: the gate's :class:`~edge.link.base.GateLink` over an MQTT broker (paho 2.x).

Threads and who owns what:

* paho's network thread (``loop_start``) runs the callbacks. They only parse and hand off
  (STYLE.md §3.5): a PUBACK's mid goes on a queue, a verified command on another, and nothing
  in a callback touches SQLite or can raise out of it.
* the sender thread (:class:`~edge.link.sender.OutboxSender`) publishes outbox rows at QoS 1 in
  seq order, at most ``inflight_window`` awaiting PUBACK, and marks a row delivered only when
  *its* PUBACK arrives; it publishes only while connected.
* the command and message threads (:class:`~edge.link.dispatch.Dispatcher`) run the gate's
  handlers; a command's ``CommandAck`` goes into the outbox.
* the heartbeat thread publishes a retained ``online`` heartbeat every ``heartbeat_interval_s``.

Presence: a sealed ``Heartbeat(online=False)`` is the retained last will, set before connecting;
``on_connect`` (on a success reason code only) subscribes; the SUBACK then publishes a retained
``online`` heartbeat and the latest state, so "online" means commands can reach the gate. A clean
:meth:`close` publishes the offline heartbeat itself: the broker sends no will on a clean disconnect.

Sessions are clean (``clean_session=True``): a restarted gate has a fresh state machine, so a
command queued by the broker for its previous life is not wanted; the durable half of the
session is the outbox, not the broker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from pydantic import BaseModel

from edge.link.base import CommandHandler, DurablePayload, GateLink, NoticeHandler
from edge.link.client import PAHO_LOGGER, QOS, ClientFactory, QuietAfterDisconnect, build_client
from edge.link.dispatch import Dispatcher, RawHandler
from edge.link.errors import LinkConfigError, LinkError
from edge.link.intake import CommandIntake
from edge.link.outbox import ClockMs, Outbox, wall_clock_ms
from edge.link.sender import OutboxSender
from edge.settings import MqttSettings
from protocol import topics
from protocol.envelope import seal
from protocol.errors import ProtocolError
from protocol.keys import KeyPair, PublicKey
from protocol.messages import Command, CommandAck, GateState, Heartbeat

log = logging.getLogger(__name__)

_OFFLINE_PUBLISH_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class LinkTopics:
    """Where one link publishes and listens. A gate's by default; a CCTV camera node has its own
    (``protocol.cctv``: alarms instead of events, the face list's notice)."""

    events: str
    state: str
    health: str
    commands: str
    notice: str

    @classmethod
    def for_gate(cls, gate_id: str) -> LinkTopics:
        return cls(topics.gate_events(gate_id), topics.gate_state(gate_id), topics.gate_health(gate_id),
                   topics.gate_commands(gate_id), topics.WATCHLIST_NOTICE)


class MqttLink(GateLink):
    """The gate's link to central over MQTT, with the durable outbox behind every event.

    :param gate_id: client id, envelope sender and topic segment.
    :param settings: broker address, credentials, TLS, backoff and in-flight window.
    :param key: the gate's signing key (states and heartbeats are sealed here; events by the outbox).
    :param central_key: central's public key, which verifies commands; ``None`` disables commands.
    :param outbox: where events wait for their PUBACK; owned by the caller, not closed here.
    :param clock_ms: wall clock, epoch ms (envelope times, command expiry).
    :param heartbeat_interval_s: period of the retained online heartbeat.
    :param command_max_age_ms: oldest command envelope accepted.
    :param compact_interval_s: how often delivered rows past retention are deleted.
    :param client_factory: builds the paho client; tests may pass a fake.
    :param link_topics: the topics of this sender (a gate's when unset).
    """

    def __init__(
        self,
        gate_id: str,
        settings: MqttSettings,
        *,
        key: KeyPair,
        central_key: PublicKey | None,
        outbox: Outbox,
        clock_ms: ClockMs = wall_clock_ms,
        heartbeat_interval_s: float = 10.0,
        command_max_age_ms: int = 60_000,
        software_version: str = "",
        compact_interval_s: float = 3600.0,
        client_factory: ClientFactory = build_client,
        link_topics: LinkTopics | None = None,
    ) -> None:
        if outbox.sender != gate_id:
            raise LinkConfigError(f"outbox of {outbox.sender!r} given to the link of gate {gate_id!r}")
        self.gate_id = gate_id
        self.settings = settings
        self._key = key
        self._outbox = outbox
        self._clock_ms = clock_ms
        self.heartbeat_interval_s = heartbeat_interval_s
        self.compact_interval_s = compact_interval_s
        self._software_version = software_version
        self._client_factory = client_factory
        self._intake = CommandIntake(gate_id, central_key, max_age_ms=command_max_age_ms)
        if central_key is None:
            log.warning("gate_id=%s has no central public key: every command will be refused", gate_id)

        link_topics = link_topics or LinkTopics.for_gate(gate_id)
        self._topic_events = link_topics.events
        self._topic_state = link_topics.state
        self._topic_health = link_topics.health
        self._topic_commands = link_topics.commands
        self._topic_notice = link_topics.notice

        self._client: paho.Client | None = None
        self._state_lock = threading.Lock()  # guards _watchlist_version
        self._state_publish_lock = threading.Lock()  # orders retained state publishes
        self._last_state: GateState | None = None
        self._watchlist_version: int | None = None
        self._started_at = time.monotonic()

        self._connected = threading.Event()
        self._subscribed = threading.Event()  # SUBACK seen on this connection: commands can arrive
        self._subscribe_mid: int | None = None
        self._stopping = threading.Event()
        self._dispatch = Dispatcher(
            gate_id,
            publish_ack=self.publish_event,
            count=self._count,
            first_time=lambda c: outbox.remember_command(c.command_id, c.expires_at_ms, self._clock_ms()),
        )
        self._sender = OutboxSender(
            outbox,
            publish=self._publish_event_bytes,
            is_connected=self._connected.is_set,
            window=settings.inflight_window,
            count=self._count,
        )
        self._dispatch.resend_handler = self._resend
        self._heartbeat_thread: threading.Thread | None = None
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._started = False
        self._closed = False
        self._quiet = QuietAfterDisconnect(self._stopping)
        self._paho_log: logging.Logger | None = None

    # ------------------------------------------------------------------ GateLink

    def publish_event(self, payload: DurablePayload) -> None:
        row = self._outbox.append(payload)
        log.debug("event queued gate_id=%s seq=%d event_id=%s kind=%s", self.gate_id, row.seq, row.message_id, row.kind)
        self._sender.wake()

    def publish_state(self, state: GateState) -> None:
        # Held across the publish so on_connect cannot republish an older state after this one.
        with self._state_publish_lock:
            self._last_state = state
            if self._connected.is_set():
                self._publish_retained(self._topic_state, state)

    def on_command(self, handler: CommandHandler) -> None:
        self._dispatch.command_handler = handler

    def on_watchlist_notice(self, handler: NoticeHandler) -> None:
        self._dispatch.notice_handler = handler

    def on_messages(self, filters: tuple[str, ...] | list[str], handler: RawHandler) -> None:
        """Subscribe to *filters* too and hand each message's topic and raw bytes to *handler*.

        For payloads this link does not interpret, such as watchlist snapshots and deltas
        (``edge.link.watchlist_sync``): the handler verifies them itself. It runs on its own
        worker thread, so a slow one (building a screener) delays neither paho nor commands.
        Register before :meth:`start`.
        """
        if self._started:
            raise RuntimeError("register message handlers before start()")
        self._dispatch.add_raw(filters, handler)

    def _resend(self, command: Command) -> CommandAck:
        """Central never received events *from_seq*..*to_seq*: send the stored bytes again."""
        if command.from_seq is None or command.to_seq is None or command.to_seq < command.from_seq:
            return CommandAck(command_id=command.command_id, accepted=False, reason="resend_events needs a seq range")
        if command.to_seq > self._outbox.last_seq:
            return CommandAck(
                command_id=command.command_id,
                accepted=False,
                reason=f"seq {command.to_seq} was never written (last is {self._outbox.last_seq})",
            )
        requeued, missing = self._outbox.requeue(command.from_seq, command.to_seq)
        self._sender.rewind(command.from_seq)
        self._count("events_requeued", requeued)
        log.warning(
            "gate_id=%s: central asked for events %d..%d again: %d requeued, %d no longer stored",
            self.gate_id, command.from_seq, command.to_seq, requeued, missing,
        )
        return CommandAck(
            command_id=command.command_id,
            accepted=True,
            reason=f"requeued {requeued} events; {missing} no longer stored",
        )

    def close(self) -> None:
        """Announce offline, stop every thread, disconnect; the outbox keeps what is unsent."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._sender.stop()
        self._dispatch.stop()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=10.0)
        client = self._client
        if client is not None:
            if self._connected.is_set():
                info = self._publish_retained(self._topic_health, self._heartbeat(online=False))
                if info is not None:
                    try:
                        info.wait_for_publish(timeout=_OFFLINE_PUBLISH_TIMEOUT_S)
                    except (RuntimeError, ValueError) as exc:
                        log.warning("gate_id=%s: offline heartbeat not confirmed: %s", self.gate_id, exc)
            client.disconnect()
            client.loop_stop()
        if self._paho_log is not None:
            self._paho_log.removeFilter(self._quiet)
        self._connected.clear()
        try:
            log.info("link closed gate_id=%s outbox_depth=%d", self.gate_id, self._outbox.depth)
        except LinkError:  # the caller closed the outbox first; nothing is lost, it is on disk
            log.info("link closed gate_id=%s", self.gate_id)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MqttLink:
        """Connect in the background and start the worker threads; returns at once."""
        if self._started:
            return self
        self._started = True
        self._started_at = time.monotonic()
        will = seal(self._heartbeat(online=False), sender=self.gate_id, key=self._key, seq=0, now_ms=self._clock_ms())
        client = self._client_factory(self.gate_id, self.settings, will_topic=self._topic_health, will_payload=will)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client
        self._paho_log = logging.getLogger(f"{PAHO_LOGGER}.{self.gate_id}")
        self._paho_log.addFilter(self._quiet)
        self._sender.start(name=f"link-{self.gate_id}-sender")
        self._dispatch.start()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name=f"link-{self.gate_id}-heartbeat", daemon=True
        )
        self._heartbeat_thread.start()
        try:
            client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s)
            client.loop_start()
        except (OSError, ValueError) as exc:
            self.close()
            raise LinkError(f"gate {self.gate_id}: cannot start MQTT client: {exc}") from exc
        log.info("link starting gate_id=%s broker=%s:%d", self.gate_id, self.settings.host, self.settings.port)
        return self

    def __enter__(self) -> MqttLink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ observation

    @property
    def subscriptions(self) -> list[str]:
        """What the link subscribes to on every connect: its commands first, then the rest."""
        wanted = [self._topic_commands, self._topic_notice]
        return wanted + [f for f in dict.fromkeys(self._dispatch.raw_filters) if f not in wanted]

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def wait_for_connected(self, timeout_s: float = 10.0) -> bool:
        """Wait until connected *and* the broker acknowledged the subscriptions; False on timeout."""
        return self._connected.wait(timeout_s) and self._subscribed.wait(timeout_s)

    def wait_for_drained(self, timeout_s: float = 10.0) -> bool:
        """Wait until every outbox row has its PUBACK; False on timeout."""
        return self._sender.wait_for_drained(timeout_s)

    def report_watchlist_version(self, version: int | None) -> None:
        """The watchlist version the gate now screens with; it goes into every heartbeat."""
        with self._state_lock:
            self._watchlist_version = version

    @property
    def counts(self) -> dict[str, int]:
        """Counters: published, delivered, commands_executed, rejected:<reason>, connects, ..."""
        with self._counts_lock:
            return dict(self._counts)

    def _publish_event_bytes(self, envelope: bytes) -> paho.MQTTMessageInfo:
        assert self._client is not None  # the sender starts after the client exists
        return self._client.publish(self._topic_events, envelope, qos=QOS)

    def _count(self, name: str, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] += n

    # ------------------------------------------------------------------ paho callbacks (network thread)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            # Frigate marks itself connected even when refused (STYLE.md §3.8); we do not.
            log.error("gate_id=%s: broker refused connection: %s", self.gate_id, reason_code)
            self._count("connect_refused")
            return
        self._count("connects")
        _, self._subscribe_mid = client.subscribe([(f, QOS) for f in self.subscriptions])
        self._connected.set()
        log.info("link connected gate_id=%s", self.gate_id)
        self._sender.wake()  # events flow at once; presence waits for the SUBACK (below)

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        if mid != self._subscribe_mid:
            return
        granted = zip(self.subscriptions, reason_codes, strict=False)
        refused = [f"{topic_filter} ({code})" for topic_filter, code in granted if code.is_failure]
        if refused:
            # Usually the broker ACL. Loud; the gate keeps publishing either way.
            self._count("subscribe_refused")
            log.error("gate_id=%s: broker refused subscriptions: %s", self.gate_id, ", ".join(refused))
        if reason_codes and not reason_codes[0].is_failure:
            self._subscribed.set()  # the commands subscription: central can reach the gate
        # "online" is announced only now, so whoever sees it can already reach the gate's commands.
        self._publish_retained(self._topic_health, self._heartbeat(online=True))
        with self._state_publish_lock:
            if self._last_state is not None:
                self._publish_retained(self._topic_state, self._last_state)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._subscribed.clear()
        if was_connected and not self._stopping.is_set():
            self._count("disconnects")
            log.warning("link disconnected gate_id=%s reason=%s", self.gate_id, reason_code)

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        # Hand the mid to the sender: paho holds its own lock here, and SQLite may block.
        self._sender.acknowledged(mid)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        topic = message.topic
        try:
            raw = self._dispatch.submit_raw(topic, bytes(message.payload))  # verified by its handler
            now_ms = self._clock_ms()
            if topic == self._topic_commands:
                command = self._intake.verify_command(message.payload, now_ms=now_ms)
                log.info(
                    "command accepted gate_id=%s command_id=%s action=%s",
                    self.gate_id,
                    command.command_id,
                    command.action,
                )
                self._dispatch.submit_command(command)
            elif topic == self._topic_notice:
                if self._dispatch.notice_handler is not None:
                    self._dispatch.submit_notice(self._intake.verify_notice(message.payload, now_ms=now_ms))
            elif not raw:
                self._count("rejected:unknown_topic")
                log.warning("gate_id=%s: message on unexpected topic %s dropped", self.gate_id, topic)
        except (ProtocolError, LinkError) as exc:
            reason = getattr(exc, "reason", type(exc).__name__)
            self._count("commands_rejected" if topic == self._topic_commands else "notices_rejected")
            self._count(f"rejected:{reason}")
            log.warning("gate_id=%s: message on %s refused (%s): %s", self.gate_id, topic, reason, exc)
        except Exception:  # a callback must never raise into paho's loop (STYLE.md §3.5)
            self._count("rejected:internal_error")
            log.exception("gate_id=%s: error handling message on %s", self.gate_id, topic)

    # ------------------------------------------------------------------ worker threads

    def _heartbeat_loop(self) -> None:
        next_compaction = time.monotonic() + self.compact_interval_s
        while not self._stopping.wait(self.heartbeat_interval_s):
            if self._connected.is_set():
                self._publish_retained(self._topic_health, self._heartbeat(online=True))
            if time.monotonic() >= next_compaction:
                # A gate runs for months: delivered rows past retention must not fill the disk.
                next_compaction = time.monotonic() + self.compact_interval_s
                try:
                    self._outbox.compact()
                except LinkError:
                    log.exception("gate_id=%s: outbox compaction failed", self.gate_id)

    # ------------------------------------------------------------------ helpers

    def _heartbeat(self, *, online: bool) -> Heartbeat:
        with self._state_lock:
            version = self._watchlist_version
        try:
            depth, last_seq = self._outbox.depth, self._outbox.last_seq
        except LinkError:  # a closed outbox must not stop the offline announcement
            depth, last_seq = 0, 0
        return Heartbeat(
            online=online,
            uptime_s=round(max(0.0, time.monotonic() - self._started_at), 3),
            outbox_depth=depth,
            last_seq=last_seq,
            watchlist_version=version,
            software_version=self._software_version,
        )

    def _publish_retained(self, topic: str, payload: BaseModel) -> paho.MQTTMessageInfo | None:
        """Seal and publish an ephemeral message (seq 0): retained, QoS 1, latest wins."""
        client = self._client
        if client is None:
            return None
        data = seal(payload, sender=self.gate_id, key=self._key, seq=0, now_ms=self._clock_ms())
        info = client.publish(topic, data, qos=QOS, retain=True)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.debug("gate_id=%s: retained publish on %s not sent now: %s", self.gate_id, topic, info.rc)
        return info
