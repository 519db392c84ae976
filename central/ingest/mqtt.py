"""The MQTT side of ingest: the one function that builds central's paho client, and the service
that subscribes, hands messages to the worker and acknowledges them when the worker says so.

The session is persistent (fixed client id, ``clean_session=False``, MQTT 3.1.1) and acks are
manual, so the broker queues QoS 1 messages while central is down and redelivers any message
whose PUBACK we never sent. The same client publishes signed commands to gates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from central.db import Database
from central.events import EventBus
from central.ingest.metrics import IngestMetrics
from central.ingest.worker import Delivery, IngestWorker
from central.publisher import publish_acknowledged
from central.settings import CentralSettings, MqttSettings, apply_login
from protocol.cctv import all_cameras
from protocol.topics import all_gates

log = logging.getLogger(__name__)

SUBSCRIPTIONS: list[tuple[str, int]] = [
    (all_gates("events"), 1),
    (all_gates("state"), 1),
    (all_gates("health"), 1),
    (all_cameras("alarms"), 1),  # CCTV camera nodes (central/cctv/ingest.py)
    (all_cameras("health"), 1),
]


def subscriptions(share_group: str | None) -> list[tuple[str, int]]:
    """What ingest subscribes to: every filter, or each as ``$share/<group>/<filter>`` so that the
    broker hands each message to one worker of the group (MQTT 5, also offered to 3.1.1 clients
    by Mosquitto, EMQX and VerneMQ)."""
    if share_group is None:
        return list(SUBSCRIPTIONS)
    return [(f"$share/{share_group}/{topic}", qos) for topic, qos in SUBSCRIPTIONS]


def build_client(settings: MqttSettings) -> mqtt.Client:
    """Central's paho client: VERSION2 callbacks, persistent session, manual acknowledgement."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=settings.client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )
    apply_login(client, settings)
    client.reconnect_delay_set(1, 60)
    client.enable_logger(logging.getLogger("central.ingest.paho"))
    return client


class IngestService:
    """Broker connection + worker thread. ``start()`` returns at once; paho reconnects by itself."""

    def __init__(
        self,
        settings: CentralSettings,
        database: Database,
        *,
        metrics: IngestMetrics | None = None,
        client_factory: Callable[[MqttSettings], mqtt.Client] = build_client,
        clock: Callable[[], float] = time.time,
        sessions: Callable[[], Session] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self._settings = settings
        self.metrics = metrics or IngestMetrics()
        self.worker = IngestWorker(
            database,
            ack=self._ack,
            metrics=self.metrics,
            max_age_s=settings.event_max_age_s,
            retry_initial_s=settings.ingest_retry_initial_s,
            retry_max_s=settings.ingest_retry_max_s,
            clock=clock,
            sessions=sessions,
            cctv_settings=settings.cctv,
            batch_max=settings.ingest_batch_max,
            bus=bus,  # central/buses.py: reaches the consoles of other processes too
        )
        self._client = client_factory(settings.mqtt)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._disconnected = threading.Event()
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.worker.start()
        mqtt_settings = self._settings.mqtt
        log.info("ingest: connecting to %s:%d as %s", mqtt_settings.host, mqtt_settings.port, mqtt_settings.client_id)
        self._client.connect_async(mqtt_settings.host, mqtt_settings.port, keepalive=mqtt_settings.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        """Stop the worker first, so nothing is acknowledged after we decide to leave."""
        if not self._started:
            return
        self._started = False
        self.worker.stop()
        was_connected = self.connected.is_set()
        self._disconnected.clear()
        self._client.disconnect()
        # Let the DISCONNECT reach the broker before the network thread stops: otherwise the
        # broker believes us connected until keepalive runs out and sends our session's messages
        # to a dead socket (Mosquitto redelivers them later; amqtt drops them after 5 s).
        if was_connected and not self._disconnected.wait(5.0):
            log.warning("ingest: broker did not confirm the disconnect in 5 s")
        self._client.loop_stop()
        self.connected.clear()
        self.subscribed.clear()

    def wait_until_subscribed(self, timeout_s: float) -> bool:
        return self.subscribed.wait(timeout_s)

    # -- paho callbacks (network thread: hand off, never block) ------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: object, flags: object, reason_code: object, _props: object) -> None:
        if getattr(reason_code, "is_failure", False):
            log.error("ingest: broker refused the connection: %s", reason_code)
            return
        self.connected.set()
        session_present = getattr(flags, "session_present", False)
        log.info("ingest: connected (session present: %s)", session_present)
        self.metrics.inc("connects")
        # Subscribe on every connect: the broker may have lost our session.
        client.subscribe(subscriptions(self._settings.ingest_share_group))

    def _on_subscribe(self, _client: mqtt.Client, _userdata: object, _mid: int, reason_codes: list, _props: object) -> None:
        if any(getattr(code, "is_failure", False) for code in reason_codes):
            log.error("ingest: subscription refused: %s", reason_codes)
            return
        group = self._settings.ingest_share_group
        log.info("ingest: subscribed%s", f" in shared-subscription group {group!r}" if group else "")
        self.subscribed.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object, reason_code: object, _props: object) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self._disconnected.set()
        log.warning("ingest: disconnected from broker (%s)", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        self.worker.submit(Delivery(topic=message.topic, payload=bytes(message.payload), token=message))

    def _ack(self, delivery: Delivery) -> None:
        message = delivery.token
        if isinstance(message, mqtt.MQTTMessage) and message.qos > 0:
            self._client.ack(message.mid, message.qos)

    # -- commands ----------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, *, retain: bool = False, timeout_s: float = 5.0) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK; CommandNotSent otherwise."""
        publish_acknowledged(self._client, self.connected, topic, payload, retain=retain, timeout_s=timeout_s)

    @property
    def is_healthy(self) -> bool:
        return self.health() == "ok"

    def health(self) -> str:
        """``ok``, ``disconnected``, or the worker's own trouble (``stopped``, ``stuck``): what
        ``/healthz`` reports, so a dead or wedged worker is not hidden behind a live connection."""
        worker = self.worker.health(self._settings.ingest_stuck_after_s)
        if worker != "ok":
            return worker
        return "ok" if self.connected.is_set() else "disconnected"
