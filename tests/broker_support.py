"""Retained messages on a broker, for the fixtures that keep the shared Mosquitto clean (a module
of its own at the top of tests/, imported by tests/conftest.py and the tests of these helpers)."""

from __future__ import annotations

import threading
import uuid

TEST_USER, TEST_PASSWORD = "autogate-test", "test-password-not-secret"


def retained_messages(host: str, port: int, *, username: str | None = TEST_USER,
                      password: str | None = TEST_PASSWORD, timeout_s: float = 10.0) -> dict[str, bytes]:
    """Every retained message on the broker, by topic. A probe published after subscribing marks
    the end: the broker sends a new subscriber its retained messages first, so when the probe
    arrives all of them have (no waiting on a clock)."""
    import paho.mqtt.client as mqtt

    probe = f"autogate-test-probe/{uuid.uuid4().hex}"
    found: dict[str, bytes] = {}
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"retained-{uuid.uuid4().hex[:8]}")
    if username:
        client.username_pw_set(username, password)

    def on_subscribe(c, _userdata, _mid, _codes, _props) -> None:
        c.publish(probe, b"", qos=1)

    def on_message(_c, _userdata, message) -> None:
        if message.topic == probe:
            done.set()
        elif message.retain and message.payload:
            found[message.topic] = bytes(message.payload)

    client.on_connect = lambda c, *_: c.subscribe([("#", 1), (probe, 1)])
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(host, port)
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise TimeoutError(f"broker {host}:{port}: the retained-message probe never came back")
    finally:
        client.loop_stop()
        client.disconnect()
    return found


def clear_new_retained(host: str, port: int, before: dict[str, bytes], *, username: str | None = TEST_USER,
                       password: str | None = TEST_PASSWORD, prefix: str = "autogate/") -> list[str]:
    """Delete the retained messages under *prefix* that were not on the broker in *before* (what
    the tests left: every test uses gate ids of its own). A retained message that was there
    before is left alone, even if it changed: its owner may have updated it meanwhile."""
    import paho.mqtt.client as mqtt

    now = retained_messages(host, port, username=username, password=password)
    added = sorted(t for t in now if t not in before and t.startswith(prefix))
    if not added:
        return []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"clear-{uuid.uuid4().hex[:8]}")
    if username:
        client.username_pw_set(username, password)
    client.connect(host, port)
    client.loop_start()
    try:
        for topic in added:  # an empty retained payload deletes the retained message
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    return added
