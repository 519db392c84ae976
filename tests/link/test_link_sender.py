"""OutboxSender without a broker: window, order, PUBACK-only clearing, offline hold, client refusals."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTErrorCode

from edge.link.outbox import Outbox
from edge.link.sender import OutboxSender
from protocol.keys import generate_keypair
from protocol.messages import GateEvent

WAIT_S = 10.0


@dataclass
class Info:
    rc: int
    mid: int


class FakeClient:
    """Records publishes like paho would, and checks the in-flight window at every publish."""

    def __init__(self, window: int, refuse_first: int = 0) -> None:
        self.window = window
        self.refuse_first = refuse_first
        self.published: list[tuple[int, bytes]] = []  # (mid, envelope)
        self.acked: set[int] = set()
        self.violations: list[str] = []
        self.cond = threading.Condition()
        self._mid = 100

    def publish(self, envelope: bytes) -> Info:
        with self.cond:
            if self.refuse_first > 0:
                self.refuse_first -= 1
                self.cond.notify_all()
                return Info(MQTTErrorCode.MQTT_ERR_QUEUE_SIZE, 0)
            self._mid += 1
            self.published.append((self._mid, envelope))
            if len(self.published) - len(self.acked) > self.window:
                self.violations.append(f"{len(self.published) - len(self.acked)} in flight")
            self.cond.notify_all()
            return Info(MQTTErrorCode.MQTT_ERR_SUCCESS, self._mid)

    def wait_published(self, n: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.published) >= n, timeout=WAIT_S)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "o.sqlite", sender="G1", key=generate_keypair())
    yield box
    box.close()


def fill(outbox: Outbox, n: int) -> None:
    for i in range(n):
        outbox.append(GateEvent(event="e", details={"i": i}))


def test_window_bounds_in_flight_rows_and_only_pubacks_clear_them(outbox: Outbox) -> None:
    """Without the window a long offline backlog would flood paho's memory at reconnect."""
    fill(outbox, 10)
    client = FakeClient(window=3)
    sender = OutboxSender(outbox, publish=client.publish, is_connected=lambda: True, window=3)
    sender.start()
    try:
        acked = 0
        while acked < 10:
            assert client.wait_published(min(acked + 1, 10))
            mid, _ = client.published[acked]
            sender.acknowledged(999_999)  # a heartbeat's PUBACK: not an outbox row, changes nothing
            with client.cond:
                client.acked.add(mid)
            sender.acknowledged(mid)
            acked += 1
        assert sender.wait_for_drained(WAIT_S)
    finally:
        sender.stop()
    assert client.violations == []
    assert [env for _, env in client.published] == [r.envelope for r in outbox.rows()], "seq order, each once"
    assert outbox.depth == 0


def test_rows_published_but_unacknowledged_stay_pending(outbox: Outbox) -> None:
    """A publish is not a delivery: only the PUBACK may clear a row, or a crash would lose it."""
    fill(outbox, 4)
    client = FakeClient(window=10)
    sender = OutboxSender(outbox, publish=client.publish, is_connected=lambda: True, window=10)
    sender.start()
    try:
        assert client.wait_published(4)
        sender.acknowledged(client.published[1][0])  # only seq 2's PUBACK
    finally:
        sender.stop()  # records the PUBACKs already received before it returns
    assert [r.seq for r in outbox.pending(10)] == [1, 3, 4]


def test_nothing_is_sent_while_disconnected_and_everything_after(outbox: Outbox) -> None:
    fill(outbox, 5)
    client = FakeClient(window=20)
    connected = threading.Event()
    asked = threading.Event()

    def is_connected() -> bool:
        asked.set()
        return connected.is_set()

    sender = OutboxSender(outbox, publish=client.publish, is_connected=is_connected, window=20)
    sender.start()
    try:
        assert asked.wait(WAIT_S)
        asked.clear()
        sender.wake()
        assert asked.wait(WAIT_S)  # the sender looked again, still offline
        assert client.published == []
        connected.set()
        sender.wake()
        assert client.wait_published(5)
    finally:
        sender.stop()
    assert outbox.depth == 5, "published, not yet acknowledged"


def test_a_publish_the_client_refuses_is_retried_not_skipped(outbox: Outbox) -> None:
    """A refused hand-over must not advance past the row, or it would be skipped until a restart."""
    fill(outbox, 3)
    client = FakeClient(window=20, refuse_first=1)
    sender = OutboxSender(outbox, publish=client.publish, is_connected=lambda: True, window=20)
    sender.start()
    try:
        with client.cond:
            assert client.cond.wait_for(lambda: client.refuse_first == 0, timeout=WAIT_S)
        sender.wake()
        assert client.wait_published(3)
    finally:
        sender.stop()
    assert [env for _, env in client.published] == [r.envelope for r in outbox.rows()]


def test_window_must_be_positive(outbox: Outbox) -> None:
    with pytest.raises(ValueError):
        OutboxSender(outbox, publish=lambda data: Info(0, 1), is_connected=lambda: True, window=0)
