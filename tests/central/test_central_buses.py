"""The buses between processes (central/buses.py) against the real PostgreSQL and Mosquitto,
and the stream slots that keep waitress's threads for pages (central/streams.py)."""

from __future__ import annotations

import threading
import uuid

import pytest
from central_support import act_as, demo_settings

from central.buses import MqttBus, PostgresBus, build_bus, bus_kind, decode_notice, encode_notice, libpq_conninfo
from central.events import LocalBus, Notice
from central.settings import BusSettings, MqttSettings
from central.streams import StreamSlots, waitress_limit
from central.settings import HttpSettings


def _drain(subscription, want: int, timeout_s: float = 10.0) -> list[Notice]:
    """Notices until *want* arrived, then one more short wait to catch a duplicate."""
    got: list[Notice] = []
    while len(got) < want:
        notice = subscription.get(timeout_s)
        if notice is None:
            break
        got.append(notice)
    extra = subscription.get(0.5)
    if extra is not None:
        got.append(extra)
    return got


NOTICES = [Notice(f"gt-{i}", "events", f"m-{uuid.uuid4().hex}", "stored") for i in range(20)]


def _pg_bus(url: str, channel: str) -> PostgresBus:
    return PostgresBus(libpq_conninfo(url), channel=channel)


def test_postgres_bus_reaches_every_other_process_s_listener_once(postgres_url) -> None:
    """Without it, a notice committed by an ingest process reaches no console of a web process."""
    channel = f"t_{uuid.uuid4().hex[:12]}"
    publisher, web_a, web_b = (_pg_bus(postgres_url, channel) for _ in range(3))
    try:
        assert web_a.wait_until_listening(10) and web_b.wait_until_listening(10)
        with web_a.subscribe() as a1, web_a.subscribe() as a2, web_b.subscribe() as b1:
            for notice in NOTICES:
                publisher.publish(notice)
            for subscription in (a1, a2, b1):
                assert _drain(subscription, len(NOTICES)) == NOTICES  # all, in order, none twice
        assert publisher.lost == 0
    finally:
        for bus in (publisher, web_a, web_b):
            bus.close()


def test_postgres_bus_batches_a_burst_in_order_and_loses_nothing(postgres_url) -> None:
    """Ingest at thousands of messages a second: notices queue and go out many to a NOTIFY
    (each payload under PostgreSQL's 8,000 bytes), in order; publish never waits on the database."""
    channel = f"t_{uuid.uuid4().hex[:12]}"
    publisher, web = _pg_bus(postgres_url, channel), _pg_bus(postgres_url, channel)
    burst = [Notice(f"gt-{i % 50}", "events", uuid.uuid4().hex, "stored") for i in range(3000)]
    try:
        with web.subscribe() as subscription:
            received: list[Notice] = []
            # A console reads as notices come (its queue holds 256: a reader that stops drops).
            reader = threading.Thread(target=lambda: received.extend(_drain(subscription, len(burst), 30)))
            reader.start()
            for notice in burst:
                publisher.publish(notice)
            assert publisher.flush(30)
            reader.join(60)
        # Every notice crossed between the processes (the listener heard it, in order); a console
        # that reads slower than a burst arrives drops some locally and heals on its next read.
        assert web.heard == len(burst)
        assert len(received) + subscription.dropped == len(burst)
        positions = {notice.message_id: n for n, notice in enumerate(burst)}
        order = [positions[notice.message_id] for notice in received]
        assert order == sorted(order) and len(set(order)) == len(order)
        assert publisher.lost == 0 and web.heard == len(burst)
    finally:
        publisher.close()
        web.close()


def test_a_batch_payload_decodes_to_its_notices_and_skips_junk_inside() -> None:
    from central.buses import decode_payload, encode_batch

    assert decode_payload(encode_batch(NOTICES)) == NOTICES
    mixed = "[" + encode_notice(NOTICES[0]) + ',{"g": 5}, 7,' + encode_notice(NOTICES[1]) + "]"
    assert decode_payload(mixed) == NOTICES[:2]
    assert decode_payload("[[[[") == []


def test_mqtt_bus_reaches_every_other_process_s_listener_once(mosquitto) -> None:
    broker = mosquitto
    mqtt = MqttSettings(host=broker.host, port=broker.port, username=broker.username, password=broker.password)
    topic = f"autogate-test/{uuid.uuid4().hex}/notices"
    publisher, web_a, web_b = (MqttBus(mqtt, topic=topic) for _ in range(3))
    try:
        for bus in (publisher, web_a, web_b):
            assert bus.wait_until_listening(10)
        with web_a.subscribe() as a1, web_b.subscribe() as b1:
            for notice in NOTICES:
                publisher.publish(notice)
            for subscription in (a1, b1):
                assert _drain(subscription, len(NOTICES)) == NOTICES
        assert publisher.lost == 0
    finally:
        for bus in (publisher, web_a, web_b):
            bus.close()


def test_a_listener_survives_payloads_that_are_not_notices(postgres_url) -> None:
    channel = f"t_{uuid.uuid4().hex[:12]}"
    web = _pg_bus(postgres_url, channel)
    import psycopg

    try:
        with web.subscribe() as subscription, psycopg.connect(libpq_conninfo(postgres_url), autocommit=True) as conn:
            for junk in ("[" * 3000 + "]" * 3000, "{}", '{"g": 1, "c": "events"}', "not json", '"x"'):
                conn.execute("SELECT pg_notify(%s, %s)", (channel, junk))
            conn.execute("SELECT pg_notify(%s, %s)", (channel, encode_notice(NOTICES[0])))
            assert _drain(subscription, 1) == [NOTICES[0]]
    finally:
        web.close()


@pytest.mark.parametrize("payload", ["", "null", "[1]", '{"g": "x"}', '{"g": "x", "c": "e", "m": 5}', '{"g": "' + "x" * 100 + '", "c": "e"}'])
def test_decode_refuses_what_is_not_a_notice(payload) -> None:
    assert decode_notice(payload) is None


def test_notice_round_trip() -> None:
    for notice in (*NOTICES, Notice("gt-1", "health")):
        assert decode_notice(encode_notice(notice)) == notice


POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_bus_kind_follows_the_database_unless_told(tmp_path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'c.db'}"
    assert bus_kind(demo_settings(sqlite)) == "local"
    assert isinstance(build_bus(demo_settings(sqlite)), LocalBus)
    assert bus_kind(demo_settings(POSTGRES_URL)) == "postgres"
    assert bus_kind(demo_settings(POSTGRES_URL, bus=BusSettings(kind="mqtt"))) == "mqtt"
    with pytest.raises(ValueError, match="PostgreSQL"):
        demo_settings(sqlite, bus=BusSettings(kind="postgres"))


def test_stream_slots_bound_and_give_back_once() -> None:
    slots = StreamSlots(2)
    first, second = slots.take(), slots.take()
    assert first and second and slots.take() is None and slots.refused == 1
    first()
    first()  # a second release must not free a slot someone else holds
    assert slots.open == 1
    assert slots.take() is not None and slots.take() is None


def test_waitress_keeps_threads_for_pages() -> None:
    assert waitress_limit(HttpSettings()) == HttpSettings().threads // 2
    assert waitress_limit(HttpSettings(threads=8, max_streams=50)) == 7


def test_a_stream_past_the_limit_is_refused_with_retry_after_and_pages_still_answer(client, database, app) -> None:
    """Issue 18 item 3: before, the ninth stream hung and /healthz timed out."""
    from central import streams

    streams.init_app(app, 1)
    act_as(client, database, "supervisor")
    first = client.get("/console/stream", buffered=False)
    assert first.status_code == 200
    refused = client.get("/console/stream", buffered=False)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    assert refused.get_json()["error"] == "busy"
    assert client.get("/console/live").status_code == 200
    assert client.get("/healthz").status_code == 200
    first.close()  # the slot comes back when the stream ends
    again = client.get("/console/stream", buffered=False)
    assert again.status_code == 200
    again.close()
