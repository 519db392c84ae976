"""Fixtures for the link tests: keys, a unique gate id, a recording subscriber, a link factory."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.link.mqtt import MqttLink
from edge.link.outbox import Outbox
from edge.settings import MqttSettings
from protocol.keys import KeyPair, generate_keypair

WAIT_S = 45.0  # generous upper bound for any broker round trip; tests wait on conditions, never sleep


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class Subscriber:
    """A plain paho client that records every message on its filters, for assertions."""

    broker: Any
    filters: list[str]
    messages: list[Received] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _subscribed: threading.Event = field(default_factory=threading.Event)
    client: paho.Client | None = None

    def start(self) -> Subscriber:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:10]}")
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)

        def on_connect(c: paho.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
            if not rc.is_failure:
                c.subscribe([(flt, 1) for flt in self.filters])

        def on_subscribe(c: paho.Client, u: Any, mid: int, rcs: Any, p: Any) -> None:
            self._subscribed.set()

        def on_message(c: paho.Client, u: Any, msg: paho.MQTTMessage) -> None:
            # amqtt 0.12 sends every new client the retained messages of *all* filters anyone
            # subscribed to (broker.py, "pre-existing session's subscriptions"); keep only ours.
            if not any(paho.topic_matches_sub(flt, msg.topic) for flt in self.filters):
                self.leaked.append(msg.topic)
                return
            with self._cond:
                self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))
                self._cond.notify_all()

        client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        self.client = client
        assert self._subscribed.wait(WAIT_S), "subscriber did not get its SUBACK"
        return self

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout_s: float = WAIT_S) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), timeout=timeout_s)

    def on(self, topic: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        assert self.client is not None
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None


@pytest.fixture
def gate_id() -> str:
    """A fresh gate id per test: client ids and retained topics never collide between tests or runs."""
    return f"T{uuid.uuid4().hex[:10]}"


@pytest.fixture
def gate_key() -> KeyPair:
    return generate_keypair()


@pytest.fixture
def central_key() -> KeyPair:
    return generate_keypair()


@pytest.fixture
def subscribe(mqtt_broker: Any) -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def factory(*filters: str) -> Subscriber:
        sub = Subscriber(mqtt_broker, list(filters)).start()
        made.append(sub)
        return sub

    yield factory
    for sub in made:
        sub.stop()


def mqtt_settings(broker: Any, **overrides: Any) -> MqttSettings:
    return MqttSettings(
        host=broker.host, port=broker.port, username=broker.username, password=broker.password, **overrides
    )


@pytest.fixture
def make_link(
    mqtt_broker: Any, tmp_path: Path, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> Iterator[Callable[..., MqttLink]]:
    """Build (not start) a link for this test's gate; everything is closed at teardown."""
    made: list[tuple[MqttLink, Outbox]] = []

    def factory(**overrides: Any) -> MqttLink:
        outbox = Outbox(tmp_path / f"{gate_id}.sqlite", sender=gate_id, key=gate_key)
        kwargs: dict[str, Any] = {
            "key": gate_key,
            "central_key": central_key.public,
            "outbox": outbox,
            "heartbeat_interval_s": 60.0,
        }
        kwargs.update(overrides)
        link = MqttLink(gate_id, mqtt_settings(mqtt_broker), **kwargs)
        made.append((link, outbox))
        return link

    yield factory
    for link, outbox in made:
        link.close()
        outbox.close()
