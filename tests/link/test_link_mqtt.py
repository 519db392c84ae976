"""MqttLink against a real broker (embedded amqtt and Mosquitto): outbox delivery, presence, commands."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.link.mqtt import MqttLink
from edge.link.outbox import Outbox, wall_clock_ms
from edge.settings import MqttSettings
from protocol import topics
from protocol.envelope import CENTRAL_SENDER, open_envelope, seal
from protocol.keys import KeyPair, generate_keypair
from protocol.messages import (
    Command,
    CommandAck,
    CommandAction,
    GateEvent,
    GateState,
    Heartbeat,
    WatchlistVersionNotice,
)

WAIT_S = 15.0  # upper bound for a broker round trip; tests wait on conditions, never sleep


def opened(data: bytes, key: KeyPair, sender: str) -> Any:
    return open_envelope(data, keys={sender: key.public}, now_ms=wall_clock_ms(), expected_sender=sender)


def test_events_arrive_in_seq_order_and_rows_clear_on_puback(
    make_link, subscribe, gate_id: str, gate_key: KeyPair
) -> None:
    """Central orders and dedupes by seq/id; a row left undelivered would be resent forever."""
    sub = subscribe(topics.gate_events(gate_id))
    link = make_link()
    outbox: Outbox = link._outbox
    for i in range(5):  # queued before the link even starts: nothing is dropped while offline
        link.publish_event(GateEvent(event="queued_offline", details={"i": i}))
    assert outbox.depth == 5
    link.start()
    for i in range(5, 40):
        link.publish_event(GateEvent(event="online", details={"i": i}))
    assert link.wait_for_drained(WAIT_S)
    assert sub.wait_for(lambda msgs: len(msgs) >= 40)
    envelopes = [opened(m.payload, gate_key, gate_id) for m in sub.on(topics.gate_events(gate_id))]
    assert [e.seq for e in envelopes] == list(range(1, 41))
    assert [e.payload.details["i"] for e in envelopes] == list(range(40))
    assert outbox.depth == 0
    assert all(row.is_delivered for row in outbox.rows())
    assert link.counts["delivered"] == 40


def test_presence_online_state_and_clean_offline(make_link, subscribe, gate_id: str, gate_key: KeyPair) -> None:
    """A console must see a gate come online, its state, and go offline on a clean stop (no will then)."""
    health, state_topic = topics.gate_health(gate_id), topics.gate_state(gate_id)
    sub = subscribe(health, state_topic)
    link = make_link()
    state = GateState(state="idle", entry_door="closed", exit_door="locked", since_ms=1, direction="departure")
    link.publish_state(state)  # before connecting: kept and published by on_connect
    link.start()
    assert sub.wait_for(lambda msgs: any(m.topic == state_topic for m in msgs))
    assert opened(sub.on(state_topic)[0].payload, gate_key, gate_id).payload == state
    first_health = opened(sub.on(health)[0].payload, gate_key, gate_id)
    assert first_health.payload.online is True and first_health.seq == 0
    link.publish_event(GateEvent(event="x"))
    assert link.wait_for_drained(WAIT_S)
    link.close()
    assert sub.wait_for(
        lambda msgs: any(
            opened(m.payload, gate_key, gate_id).payload.online is False for m in msgs if m.topic == health
        )
    )
    # Retained: a console that connects afterwards sees the gate offline at once.
    late = subscribe(health)
    assert late.wait_for(lambda msgs: len(msgs) >= 1)
    retained = late.on(health)[-1]
    assert retained.retain
    assert opened(retained.payload, gate_key, gate_id).payload.online is False


def test_heartbeat_repeats_with_outbox_figures(make_link, subscribe, gate_id: str, gate_key: KeyPair) -> None:
    health = topics.gate_health(gate_id)
    sub = subscribe(health)
    link = make_link(heartbeat_interval_s=0.05)
    link.report_watchlist_version(12)
    link.publish_event(GateEvent(event="x"))
    link.start()
    assert link.wait_for_drained(WAIT_S)

    def settled(msgs: list[Any]) -> bool:
        beats = [opened(m.payload, gate_key, gate_id).payload for m in msgs if m.topic == health]
        return len(beats) >= 4 and beats[-1].last_seq == 1 and beats[-1].outbox_depth == 0

    assert sub.wait_for(settled)
    last: Heartbeat = opened(sub.on(health)[-1].payload, gate_key, gate_id).payload
    assert last.online and last.watchlist_version == 12


def _command(gate_id: str, command_id: str, *, expires_in_ms: int = 30_000) -> Command:
    return Command(
        command_id=command_id,
        gate_id=gate_id,
        action=CommandAction.GRANT_RETRY,
        issued_by="supervisor1",
        expires_at_ms=wall_clock_ms() + expires_in_ms,
    )


def _from_central(payload: Any, key: KeyPair, *, age_ms: int = 0) -> bytes:
    return seal(payload, sender="central", key=key, seq=0, now_ms=wall_clock_ms() - age_ms)


def test_commands_only_verified_ones_execute_once(
    make_link, subscribe, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> None:
    """Anyone can publish on the broker; only central's fresh, unseen command for this gate may act."""
    events = topics.gate_events(gate_id)
    sub = subscribe(events)
    link = make_link()
    executed: list[str] = []
    lock = threading.Lock()

    def handler(cmd: Command) -> CommandAck:
        with lock:
            executed.append(cmd.command_id)
        return CommandAck(command_id=cmd.command_id, accepted=True, state_after="checking")

    link.on_command(handler)
    link.start()
    assert link.wait_for_connected(WAIT_S)
    good = _from_central(_command(gate_id, "good-1"), central_key)
    tampered = json.loads(_from_central(_command(gate_id, "tampered"), central_key))
    tampered["payload"]["action"] = "release_held"
    bad = [
        _from_central(_command(gate_id, "forged"), generate_keypair()),
        json.dumps(tampered).encode(),
        _from_central(_command(gate_id, "expired", expires_in_ms=-1000), central_key),
        _from_central(_command(gate_id, "stale"), central_key, age_ms=120_000),
        _from_central(_command("SomeOtherGate", "wrong-gate"), central_key),
        b"garbage \x00\xff",
        good,  # the replay of good-1
    ]
    commands_topic = topics.gate_commands(gate_id)
    sub.publish(commands_topic, good)
    for data in bad:
        sub.publish(commands_topic, data)
    sub.publish(commands_topic, _from_central(_command(gate_id, "good-2"), central_key))

    def acked(msgs: list[Any]) -> set[str]:
        return {opened(m.payload, gate_key, gate_id).payload.command_id for m in msgs}

    # Commands are handled in arrival order, so good-2's ack means every bad one was already judged.
    assert sub.wait_for(lambda msgs: "good-2" in acked(msgs))
    assert executed == ["good-1", "good-2"]
    acks = [opened(m.payload, gate_key, gate_id).payload for m in sub.on(events)]
    assert all(isinstance(a, CommandAck) and a.accepted for a in acks)
    assert sorted(a.command_id for a in acks) == ["good-1", "good-2"]
    counts = link.counts
    assert counts["commands_rejected"] == len(bad)
    assert counts["rejected:bad_signature"] == 2
    assert counts["rejected:expired"] == 2
    assert counts["rejected:wrong_gate"] == 1
    assert counts["rejected:malformed"] == 1
    assert counts["rejected:replayed"] == 1
    assert link.is_connected, "bad commands must never break the connection"


def test_handler_error_is_acked_as_refused(
    make_link, subscribe, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> None:
    sub = subscribe(topics.gate_events(gate_id))
    link = make_link()

    def broken(cmd: Command) -> CommandAck:
        raise RuntimeError("door board unplugged")

    link.on_command(broken)
    link.start()
    assert link.wait_for_connected(WAIT_S)
    sub.publish(topics.gate_commands(gate_id), _from_central(_command(gate_id, "c9"), central_key))
    assert sub.wait_for(lambda msgs: len(msgs) >= 1)
    ack = opened(sub.messages[0].payload, gate_key, gate_id).payload
    assert ack.command_id == "c9" and ack.accepted is False and "RuntimeError" in ack.reason


def test_watchlist_notice_reaches_handler(make_link, subscribe, gate_id: str, central_key: KeyPair) -> None:
    link = make_link()
    got: list[WatchlistVersionNotice] = []
    arrived = threading.Event()

    def on_notice(notice: WatchlistVersionNotice) -> None:
        got.append(notice)
        arrived.set()

    link.on_watchlist_notice(on_notice)
    link.start()
    assert link.wait_for_connected(WAIT_S)
    sub = subscribe(topics.gate_events(gate_id))
    notice = WatchlistVersionNotice(version=3, entries=10, sha256="b" * 64, published_at_ms=wall_clock_ms())
    # Not retained: the shared broker must not keep a test's notice for other tests' gates.
    sub.publish(topics.WATCHLIST_NOTICE, _from_central(notice, central_key))
    assert arrived.wait(WAIT_S)
    assert got == [notice]


def test_nothing_is_dropped_while_the_broker_is_down(tmp_path: Path, gate_key: KeyPair, central_key: KeyPair) -> None:
    """A gate keeps working offline; everything it queued goes out, in order, once a broker appears."""
    from simulators.broker import EmbeddedBroker, free_port

    port = free_port()
    gate_id = "OfflineGate"
    outbox = Outbox(tmp_path / "o.sqlite", sender=gate_id, key=gate_key)
    settings = MqttSettings(host="127.0.0.1", port=port)
    link = MqttLink(gate_id, settings, key=gate_key, central_key=central_key.public, outbox=outbox).start()
    try:
        for i in range(10):
            link.publish_event(GateEvent(event="offline", details={"i": i}))
        assert not link.is_connected
        assert outbox.depth == 10
        with EmbeddedBroker(port=port) as broker:
            assert link.wait_for_connected(WAIT_S)
            assert link.wait_for_drained(WAIT_S)
            assert broker.port == port
        assert [r.seq for r in outbox.rows() if r.is_delivered] == list(range(1, 11))
    finally:
        link.close()
        outbox.close()


class FakeClient:
    """Stands in for paho's Client to check what the link does on CONNACK, without a broker."""

    def __init__(self) -> None:
        self.subscribed: list[Any] = []
        self.published: list[tuple[str, bytes, bool]] = []
        self.on_connect: Callable[..., None] | None = None
        self.will: tuple[str, bytes] | None = None

    def connect_async(self, host: str, port: int, keepalive: int) -> None:
        pass

    def loop_start(self) -> None:
        pass

    def loop_stop(self) -> None:
        pass

    def disconnect(self) -> None:
        pass

    def subscribe(self, topics_qos: Any) -> tuple[int, int]:
        self.subscribed.append(topics_qos)
        return 0, 99

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> Any:
        self.published.append((topic, payload, retain))
        return type(
            "Info", (), {"rc": 0, "mid": len(self.published), "wait_for_publish": lambda self, timeout=None: None}
        )()


@pytest.mark.parametrize(("code", "connects"), [(0, True), (135, False), (134, False)])
def test_only_a_successful_connack_counts_as_connected(
    tmp_path: Path, gate_key: KeyPair, code: int, connects: bool
) -> None:
    """A refused CONNACK (not authorised, bad password) must not look connected, nor subscribe."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    fake = FakeClient()

    def factory(gate_id: str, settings: Any, *, will_topic: str, will_payload: bytes) -> FakeClient:
        fake.will = (will_topic, will_payload)
        return fake

    with Outbox(tmp_path / "o.sqlite", sender="G5", key=gate_key) as outbox:
        link = MqttLink("G5", MqttSettings(), key=gate_key, central_key=None, outbox=outbox, client_factory=factory)
        link.start()
        assert fake.will is not None and fake.will[0] == topics.gate_health("G5")
        assert opened(fake.will[1], gate_key, "G5").payload.online is False
        link._on_connect(fake, None, None, ReasonCode(PacketTypes.CONNACK, identifier=code), None)
        assert link.is_connected is connects
        assert not link.wait_for_connected(0), "not ready before the SUBACK"
        if connects:
            assert fake.subscribed == [[(topics.gate_commands("G5"), 1), (topics.WATCHLIST_NOTICE, 1)]]
            assert fake.published == [], "online is announced only once commands can reach the gate"
            granted = [ReasonCode(PacketTypes.SUBACK, identifier=1)] * 2
            link._on_subscribe(fake, None, 98, granted, None)  # someone else's SUBACK
            assert not link.wait_for_connected(0) and fake.published == []
            link._on_subscribe(fake, None, 99, granted, None)
            assert link.wait_for_connected(0)
            assert [p[0] for p in fake.published] == [topics.gate_health("G5")]
            assert fake.published[0][2] is True, "the online heartbeat is retained"
            assert opened(fake.published[0][1], gate_key, "G5").payload.online is True
        else:
            assert fake.subscribed == [] and fake.published == []
            assert link.counts["connect_refused"] == 1
        link.close()


def test_refused_subscription_is_loud_but_the_gate_keeps_publishing(tmp_path: Path, gate_key: KeyPair) -> None:
    """A broker ACL that denies the command topic leaves the gate deaf: count it, still report presence."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    fake = FakeClient()
    with Outbox(tmp_path / "o.sqlite", sender="G6", key=gate_key) as outbox:
        link = MqttLink(
            "G6", MqttSettings(), key=gate_key, central_key=None, outbox=outbox, client_factory=lambda *a, **k: fake
        )
        state = GateState(state="idle", entry_door="closed", exit_door="locked", since_ms=1, direction="departure")
        link.publish_state(state)
        link.start()
        link._on_connect(fake, None, None, ReasonCode(PacketTypes.CONNACK, identifier=0), None)
        denied = [ReasonCode(PacketTypes.SUBACK, identifier=0x80), ReasonCode(PacketTypes.SUBACK, identifier=1)]
        link._on_subscribe(fake, None, 99, denied, None)
        assert link.is_connected and not link.wait_for_connected(0)
        assert link.counts["subscribe_refused"] == 1
        assert [p[0] for p in fake.published] == [topics.gate_health("G6"), topics.gate_state("G6")]
        assert opened(fake.published[1][1], gate_key, "G6").payload == state
        link.close()


@pytest.fixture(params=["clean", "foreign_notice"])
def broker_history(request, mqtt_broker, subscribe) -> Iterator[str]:
    """The broker as this test finds it: clean, or with a watchlist notice another program (a
    central elsewhere, an earlier demo) left retained; put back as it was afterwards."""
    if request.param == "clean":
        yield request.param
        return
    from broker_support import retained_messages

    credentials = {"username": mqtt_broker.username, "password": mqtt_broker.password}
    previous = retained_messages(mqtt_broker.host, mqtt_broker.port, **credentials).get(topics.WATCHLIST_NOTICE)
    client = subscribe(f"autogate-test-unused/{uuid.uuid4().hex}")
    now = int(time.time() * 1000)
    notice = WatchlistVersionNotice(version=99, entries=1, sha256="a" * 64, published_at_ms=now)
    client.publish(topics.WATCHLIST_NOTICE, seal(notice, sender=CENTRAL_SENDER, key=generate_keypair(), seq=1,
                                                 now_ms=now), retain=True)
    yield request.param
    client.publish(topics.WATCHLIST_NOTICE, previous or b"", retain=True)


def test_raw_message_handlers_get_their_topics_off_the_network_thread(
    make_link, subscribe, gate_id: str, central_key: KeyPair, broker_history: str
) -> None:
    """Watchlist snapshots and deltas reach their own verifier, and a slow install never blocks paho."""
    delta_filter = f"{topics.ROOT}/watchlist/delta/+"
    link = make_link()
    got: list[tuple[str, bytes, str]] = []
    arrived = threading.Event()

    delta = f"{topics.ROOT}/watchlist/delta/7"

    def handler(topic: str, payload: bytes) -> None:
        got.append((topic, payload, threading.current_thread().name))
        if topic == delta:
            arrived.set()

    link.on_messages([delta_filter, topics.WATCHLIST_NOTICE], handler)
    assert link.subscriptions == [topics.gate_commands(gate_id), topics.WATCHLIST_NOTICE, delta_filter]
    link.start()
    with pytest.raises(RuntimeError):
        link.on_messages([delta_filter], handler)
    assert link.wait_for_connected(WAIT_S)
    sub = subscribe(topics.gate_events(gate_id))
    sub.publish(delta, b"opaque delta bytes")
    assert arrived.wait(WAIT_S)
    # A shared broker may hold another program's retained notice: it reaches the same handler
    # (its verifier refuses it), so only this test's delta is looked for.
    assert [g for g in got if g[0] != topics.WATCHLIST_NOTICE] == [
        (delta, b"opaque delta bytes", f"link-{gate_id}-messages")]
    assert all(thread == f"link-{gate_id}-messages" for _, _, thread in got)
    assert link.counts.get("rejected:unknown_topic", 0) == 0


def test_a_command_executed_before_a_restart_is_not_executed_again(
    make_link, subscribe, gate_id: str, gate_key: KeyPair, central_key: KeyPair
) -> None:
    """The in-memory replay guard dies with the process; the outbox file remembers."""
    sub = subscribe(topics.gate_events(gate_id))
    data = _from_central(_command(gate_id, "once"), central_key)
    executed: list[str] = []

    def handler(cmd: Command) -> CommandAck:
        executed.append(cmd.command_id)
        return CommandAck(command_id=cmd.command_id, accepted=True)

    first = make_link()
    first.on_command(handler)
    first.start()
    assert first.wait_for_connected(WAIT_S)
    sub.publish(topics.gate_commands(gate_id), data)
    assert sub.wait_for(lambda msgs: len(msgs) >= 1)
    assert first.wait_for_drained(WAIT_S)
    first.close()

    second = make_link()  # a restarted gate: fresh memory, same outbox file
    second.on_command(handler)
    second.start()
    assert second.wait_for_connected(WAIT_S)
    sub.publish(topics.gate_commands(gate_id), data)  # the captured bytes, replayed
    sub.publish(topics.gate_commands(gate_id), _from_central(_command(gate_id, "next"), central_key))

    def acked(msgs: list[Any]) -> list[str]:
        return [opened(m.payload, gate_key, gate_id).payload.command_id for m in msgs]

    # "next" acked means the replay before it was judged (the "once" ack may arrive twice: QoS 1)
    assert sub.wait_for(lambda msgs: "next" in acked(msgs))
    assert executed == ["once", "next"]
    assert second.counts["rejected:replayed"] == 1


def test_poison_commands_are_refused_in_one_line_and_later_commands_still_run(
    make_link, subscribe, gate_id: str, gate_key: KeyPair, central_key: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    """The body that stalled central (30,000 ``[`` then ``]``) made the gate's intake log a
    RecursionError traceback as an internal error; it is a malformed message like any other."""
    sub = subscribe(topics.gate_events(gate_id))
    link = make_link()
    link.on_command(lambda cmd: CommandAck(command_id=cmd.command_id, accepted=True, state_after="idle"))
    link.start()
    assert link.wait_for_connected(WAIT_S)
    poison = [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"sender":"central","seq":' + b"9" * 20_000 + b"}",
        b'{"sender":"central","signature":"AAAA","x":"\\ud800"}',
        b'{"sender":"\xff"}',
    ]
    commands_topic = topics.gate_commands(gate_id)
    with caplog.at_level("WARNING", logger="edge.link"):
        for body in poison:
            sub.publish(commands_topic, body)
        sub.publish(commands_topic, _from_central(_command(gate_id, "after-poison"), central_key))
        assert sub.wait_for(lambda msgs: len(msgs) >= 1)
    assert opened(sub.messages[0].payload, gate_key, gate_id).payload.command_id == "after-poison"
    assert link.counts["rejected:malformed"] == len(poison)
    assert link.counts.get("rejected:internal_error", 0) == 0
    refusals = [r for r in caplog.records if r.name.startswith("edge.link") and "refused" in r.getMessage()]
    assert len(refusals) == len(poison)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged for a bad body"
