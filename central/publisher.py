"""The broker connection of a web worker that runs no ingest (gunicorn, central/wsgi.py).

``autogate central serve`` publishes commands and watchlist versions through its ingest
service's client. A web worker started by gunicorn has no ingest service, but its console still
sends signed commands to gates (release, retry...) and its watchlist pages publish versions: this
is its own small client, with a clean session and a unique id (ingest's fixed, persistent id
belongs to the ingest process), and the same contract as ``IngestService.publish``: QoS 1,
wait for the broker's PUBACK, ``CommandNotSent`` otherwise.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.errors import CommandNotSent
from central.settings import MqttSettings, apply_login

log = logging.getLogger(__name__)


def publish_acknowledged(client: mqtt.Client, connected: threading.Event, topic: str, payload: bytes, *,
                         retain: bool = False, timeout_s: float = 5.0) -> None:
    """Publish at QoS 1 and wait for the broker's PUBACK; ``CommandNotSent`` otherwise."""
    if not connected.is_set():
        # paho would queue it and send it after a reconnect, long after we answered "not sent".
        raise CommandNotSent(f"not connected to the broker; {topic} not sent")
    info = client.publish(topic, payload, qos=1, retain=retain)
    try:
        info.wait_for_publish(timeout_s)
    except (RuntimeError, ValueError) as exc:
        raise CommandNotSent(f"broker did not take the message for {topic}: {exc}") from exc
    if not info.is_published():
        raise CommandNotSent(f"no PUBACK for {topic} within {timeout_s:.0f} s")


class BrokerPublisher:
    """Publishes at QoS 1 and waits for PUBACK; ``start()`` returns at once, paho reconnects."""

    def __init__(self, settings: MqttSettings, *, client_id_prefix: str = "autogate-central-web") -> None:
        self._settings = settings
        self.connected = threading.Event()
        client_id = f"{client_id_prefix}-{uuid.uuid4().hex[:12]}"[:64]
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
                                   protocol=mqtt.MQTTv311)
        apply_login(self._client, settings)
        self._client.reconnect_delay_set(1, 60)
        self._client.enable_logger(logging.getLogger("central.publisher.paho"))
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s)
        self._client.loop_start()

    def close(self) -> None:
        if not self._started:
            return
        self._started = False
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, timeout_s: float = 5.0) -> None:
        publish_acknowledged(self._client, self.connected, topic, payload, retain=retain, timeout_s=timeout_s)

    @property
    def is_healthy(self) -> bool:
        return self.connected.is_set()

    def _on_connect(self, _client: Any, _userdata: object, _flags: object, reason_code: Any, _props: object) -> None:
        if getattr(reason_code, "is_failure", False):
            log.error("web publisher: broker refused the connection: %s", reason_code)
            return
        self.connected.set()

    def _on_disconnect(self, _client: Any, _userdata: object, _flags: object, reason_code: object, _props: object) -> None:
        self.connected.clear()
        if self._started:
            log.warning("web publisher: disconnected from the broker (%s); paho reconnects", reason_code)
