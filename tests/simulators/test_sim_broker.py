"""The embedded broker: what the demo and the zero-setup tests rely on."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
import pytest

from protocol.topics import gate_commands, gate_events
from simulators.broker import EmbeddedBroker


def _client(broker: EmbeddedBroker, user: str, password: str, *, client_id: str | None = None,
            clean: bool = True) -> tuple[mqtt.Client, threading.Event, list]:
    connected = threading.Event()
    result: list = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or uuid.uuid4().hex,
                         clean_session=clean)
    client.username_pw_set(user, password)

    def on_connect(c, userdata, flags, reason_code, properties):
        result.append(reason_code)
        connected.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert connected.wait(10)
    return client, connected, result


@pytest.fixture
def broker():
    with EmbeddedBroker(
        users={"central": "c-pass", "gate-01": "g1-pass", "gate-02": "g2-pass"},
        publish_acl={"gate-01": [gate_events("gate-01")], "gate-02": [gate_events("gate-02")],
                     "central": ["autogate/v1/gates/+/commands"]},
        subscribe_acl={"central": ["autogate/v1/gates/+/events"], "gate-01": [gate_commands("gate-01")],
                       "gate-02": [gate_commands("gate-02")]},
    ) as b:
        yield b


def test_wrong_password_is_refused(broker: EmbeddedBroker) -> None:
    client, _, result = _client(broker, "gate-01", "nope")
    client.loop_stop()
    assert result[0].is_failure


def test_a_gate_cannot_publish_as_another_gate(broker: EmbeddedBroker) -> None:
    received: list[str] = []
    got = threading.Event()
    central, _, result = _client(broker, "central", "c-pass")
    assert not result[0].is_failure
    subscribed = threading.Event()
    central.on_subscribe = lambda *a: subscribed.set()

    def on_message(c, u, message):
        received.append(message.topic)
        if message.payload == b"last":
            got.set()

    central.on_message = on_message
    central.subscribe("autogate/v1/gates/+/events", qos=1)
    assert subscribed.wait(10)
    gate1, _, _ = _client(broker, "gate-01", "g1-pass")
    gate1.publish(gate_events("gate-02"), b"forged", qos=1).wait_for_publish(10)
    gate1.publish(gate_events("gate-01"), b"last", qos=1).wait_for_publish(10)
    assert got.wait(10)
    assert received == [gate_events("gate-01")]
    for c in (central, gate1):
        c.disconnect()
        c.loop_stop()


def test_persistent_session_queues_while_subscriber_is_away(broker: EmbeddedBroker) -> None:
    """Central's ingest relies on this: messages published while it is down wait for it."""
    central, _, _ = _client(broker, "central", "c-pass", client_id="ingest-test", clean=False)
    subscribed = threading.Event()
    central.on_subscribe = lambda *a: subscribed.set()
    central.subscribe("autogate/v1/gates/+/events", qos=1)
    assert subscribed.wait(10)
    central.disconnect()
    central.loop_stop()
    gate1, _, _ = _client(broker, "gate-01", "g1-pass")
    gate1.publish(gate_events("gate-01"), b"while-away", qos=1).wait_for_publish(10)
    got = threading.Event()
    payloads: list[bytes] = []
    again = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ingest-test", clean_session=False)
    again.username_pw_set("central", "c-pass")

    def on_message(c, u, message):
        payloads.append(message.payload)
        got.set()

    again.on_message = on_message
    again.connect(broker.host, broker.port)
    again.loop_start()
    assert got.wait(10)
    assert payloads == [b"while-away"]
    for c in (again, gate1):
        c.disconnect()
        c.loop_stop()


def test_retained_messages_reach_only_their_own_subscribers(broker: EmbeddedBroker) -> None:
    """amqtt replays every filter's retained messages to any reconnecting session; ours must not."""
    central, _, _ = _client(broker, "central", "c-pass", client_id="central-ret", clean=False)
    subscribed = threading.Event()
    central.on_subscribe = lambda *a: subscribed.set()
    central.subscribe("autogate/v1/gates/+/events", qos=1)
    assert subscribed.wait(10)
    gate1, _, _ = _client(broker, "gate-01", "g1-pass")
    gate1.publish(gate_events("gate-01"), b"retained-state", qos=1, retain=True).wait_for_publish(10)
    # gate-02 reconnects with a persistent session subscribed only to its own commands.
    received: list[str] = []
    got_own = threading.Event()

    def on_message(c, u, message):
        received.append(message.topic)
        if message.topic == gate_commands("gate-02"):
            got_own.set()

    for attempt in range(2):  # the second connect is the reconnect that triggered the replay
        gate2 = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gate-02-ret", clean_session=False)
        gate2.username_pw_set("gate-02", "g2-pass")
        gate2.on_message = on_message
        done = threading.Event()
        gate2.on_subscribe = lambda *a: done.set()
        gate2.connect(broker.host, broker.port)
        gate2.loop_start()
        gate2.subscribe(gate_commands("gate-02"), qos=1)
        assert done.wait(10)
        if attempt == 0:
            gate2.disconnect()
            gate2.loop_stop()
    central.publish(gate_commands("gate-02"), b"cmd", qos=1).wait_for_publish(10)
    assert got_own.wait(10)
    assert received == [gate_commands("gate-02")]
    for c in (central, gate1, gate2):
        c.disconnect()
        c.loop_stop()


def test_the_subscription_table_iterates_a_snapshot_so_a_subscribe_mid_broadcast_is_safe() -> None:
    from simulators.broker import _SnapshotSubscriptions

    table = _SnapshotSubscriptions({"a/#": [("s1", 1)]})
    for key, _subs in table.items():
        table[f"{key}-new"] = []  # what a concurrent SUBSCRIBE does while amqtt broadcasts
    for key in table:
        table.setdefault(key + "x", [])
    assert set(table) >= {"a/#", "a/#-new", "a/#x"}
    assert isinstance(table, dict)
