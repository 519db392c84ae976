"""The one place a gate builds its paho ``Client`` (STYLE.md §3.1, §3.4), and paho's log filter."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.link.errors import LinkConfigError
from edge.settings import MqttSettings

QOS = 1
PAHO_LOGGER = "edge.link.paho"  # paho logs under edge.link.paho.<gate_id>


class QuietAfterDisconnect(logging.Filter):
    """paho 2.2's loop thread runs once more after ``disconnect()`` and logs "Client is not
    connected" at ERROR; on a deliberate stop that is noise an operator would chase."""

    def __init__(self, stopping: threading.Event) -> None:
        super().__init__()
        self._stopping = stopping

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self._stopping.is_set() and record.getMessage().startswith("Client is not connected"))


ClientFactory = Callable[..., paho.Client]


def build_client(gate_id: str, settings: MqttSettings, *, will_topic: str, will_payload: bytes) -> paho.Client:
    """The one place a gate builds its paho ``Client`` (STYLE.md §3.1, §3.4)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=gate_id, clean_session=True, protocol=paho.MQTTv311)
    client.enable_logger(logging.getLogger(f"{PAHO_LOGGER}.{gate_id}"))
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password is not None else None
        client.username_pw_set(settings.username, password)
    if settings.tls.enabled:
        tls = settings.tls
        try:
            client.tls_set(
                ca_certs=str(tls.ca_file) if tls.ca_file else None,
                certfile=str(tls.cert_file) if tls.cert_file else None,
                keyfile=str(tls.key_file) if tls.key_file else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise LinkConfigError(f"gate {gate_id}: TLS files unusable: {exc}") from exc
        client.tls_insecure_set(tls.insecure)
    # The will must be set before connect(); retained, so a console that starts later still sees it.
    client.will_set(will_topic, will_payload, qos=QOS, retain=True)
    client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
    client.max_inflight_messages_set(settings.inflight_window)
    return client
