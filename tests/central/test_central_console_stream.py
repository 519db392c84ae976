"""The console's server-sent events: a committed gate message reaches an open stream."""

from __future__ import annotations

import json

import pytest
from central_support import (
    CENTRAL_KEY,
    NOW_S,
    TRAVELER,
    FakeGate,
    RecordingPublisher,
    act_as,
    crossing,
    demo_settings,
    gate_event,
    register,
)

from central.app import create_app
from central.events import LocalBus, Notice
from central.ingest.worker import Delivery, IngestWorker
from central.views.console import sse_frame, stream_frames
from protocol import GateState


def _frames(chunk: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in chunk.decode().split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":") and ": " in line
        )
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.fixture
def bus() -> LocalBus:
    return LocalBus()


@pytest.fixture
def live_app(database, sqlite_url, bus):
    return create_app(
        demo_settings(sqlite_url),
        database=database,
        central_key=CENTRAL_KEY,
        publisher=RecordingPublisher(),
        clock=lambda: NOW_S,
        bus=bus,
    )


def _worker(database, bus) -> IngestWorker:
    return IngestWorker(database, ack=lambda _d: None, clock=lambda: NOW_S, bus=bus)


def test_a_hold_reaches_an_open_stream_after_commit(live_app, database, bus) -> None:
    gate = FakeGate("gt-live01")
    register(database, gate)
    client = live_app.test_client()
    act_as(client, database, "supervisor")
    response = client.get("/console/stream", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    body = iter(response.response)
    assert b"retry:" in next(body)  # subscribed before this first frame was sent
    assert bus.subscriber_count == 1

    worker = _worker(database, bus)
    hold = gate_event(
        "alarm_raised",
        transaction_id="tx-77",
        reason="cekal_identik",
        traveler=TRAVELER,
    )
    assert worker.process(Delivery(*gate.event(hold)))

    events = _frames(next(body)) + _frames(next(body))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "alert"
    alert = events[0][1]
    assert alert["kind"] == "watchlist_hold" and alert["gate_id"] == "gt-live01"
    assert alert["details"]["traveler"]["document_number"] == TRAVELER.document_number
    assert alert["acknowledged_at"] is None
    assert "gate" in kinds
    response.close()
    assert bus.subscriber_count == 0


def test_state_changes_and_crossings_are_pushed_with_the_nine_fields(live_app, database, bus) -> None:
    gate = FakeGate("gt-live02")
    register(database, gate)
    client = live_app.test_client()
    act_as(client, database, "admin")
    response = client.get("/console/stream", buffered=False)
    body = iter(response.response)
    next(body)
    worker = _worker(database, bus)
    state = GateState(
        state="held",
        entry_door="locked",
        exit_door="locked",
        since_ms=int(NOW_S * 1000) - 5000,
        direction="departure",
        transaction_id="tx-5",
        traveler=TRAVELER,
        alarm="cekal_identik",
    )
    worker.process(Delivery(*gate.state(state)))
    ((kind, view),) = _frames(next(body))
    assert kind == "gate"
    assert view["state"] == "held" and view["entry_door"] == "locked" and view["time_in_state_s"] == 5
    assert view["mrz"] == {
        "document_number": "X1234567",
        "document_type": "P",
        "issuing_state": "IDN",
        "surname": "RAHAYU",
        "given_names": "SITI",
        "nationality": "IDN",
        "birth_date": "1990-05-17",
        "sex": "F",
        "expiry_date": "2030-01-01",
    }
    worker.process(Delivery(*gate.event(crossing("tx-6"))))
    kinds = [k for k, _ in _frames(next(body))] + [k for k, _ in _frames(next(body))]
    assert kinds == ["gate", "crossing"]
    response.close()


def test_duplicates_and_stale_states_notify_nobody(database, bus) -> None:
    gate = FakeGate("gt-live03")
    register(database, gate)
    worker = _worker(database, bus)
    message = gate.event(gate_event("document_read"))
    with bus.subscribe() as subscription:
        worker.process(Delivery(*message))
        assert subscription.get(0) is not None
        worker.process(Delivery(*message))  # the outbox re-sending
        assert subscription.get(0) is None


def test_stream_sends_heartbeats_and_ends_by_itself(database) -> None:
    class Quiet:
        closed = False

        def get(self, timeout_s: float):
            return None

        def close(self) -> None:
            self.closed = True

    quiet = Quiet()
    frames = stream_frames(database, quiet, lambda: 0, heartbeat_s=0, max_s=3600)
    assert next(frames).startswith("retry:")
    assert next(frames) == ": ping\n\n"
    frames.close()
    assert quiet.closed
    ended = list(stream_frames(database, Quiet(), lambda: 0, heartbeat_s=0, max_s=0))
    assert len(ended) == 1  # only the opening frame: EventSource reconnects


def test_a_slow_subscriber_drops_notices_instead_of_blocking_ingest() -> None:
    from central.events import SUBSCRIBER_QUEUE_SIZE

    bus = LocalBus()
    subscription = bus.subscribe()
    for i in range(SUBSCRIBER_QUEUE_SIZE + 5):
        bus.publish(Notice("gt-a", "events", f"m{i}"))
    assert subscription.dropped == 5
    subscription.close()
    subscription.close()  # idempotent
    bus.publish(Notice("gt-a", "state"))
    assert bus.subscriber_count == 0


def test_sse_frames_are_one_data_line() -> None:
    frame = sse_frame("alert", {"message": "line one\nline two"})
    assert frame.count("\n") == 3 and frame.startswith("event: alert\ndata: ")


@pytest.mark.parametrize("role", ["officer", "backoffice", "report_only", "cctv_operator"])
def test_the_stream_refuses_other_roles(live_app, database, bus, role) -> None:
    client = live_app.test_client()
    act_as(client, database, role)
    assert client.get("/console/stream").status_code == 403
    assert bus.subscriber_count == 0


def test_the_stream_sends_anonymous_users_to_login(live_app, bus) -> None:
    response = live_app.test_client().get("/console/stream")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert bus.subscriber_count == 0


def test_an_abandoned_subscription_does_not_stay_on_the_bus() -> None:
    import gc

    bus = LocalBus()
    bus.subscribe()  # dropped at once, never closed: a stream response nobody read
    gc.collect()
    assert bus.subscriber_count == 0


def test_closing_the_bus_s_subscriptions_ends_open_streams(database, bus) -> None:
    """What a server shutting down does first: the stream returns instead of sending another
    heartbeat (the quiet second here would give five of them before the deadline)."""
    frames = stream_frames(database, bus.subscribe(), lambda: 0, heartbeat_s=1, max_s=5)
    assert next(frames).startswith("retry:")
    bus.close_subscriptions()
    assert list(frames) == []
    assert bus.subscriber_count == 0


def test_a_reader_waiting_for_a_notice_is_woken_by_close(bus) -> None:
    import threading

    subscription = bus.subscribe()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(subscription.get(60)))
    reader.start()
    subscription.close()
    reader.join(30)
    assert not reader.is_alive() and got == [None]
    assert subscription.get(60) is None  # closed: never waits again


def test_the_server_closes_with_a_stream_open_and_no_write_after_close(database, bus, caplog) -> None:
    """``autogate central serve`` on SIGTERM with a console open: the stream ends its response
    and waitress closes without a worker writing into the closed server (it logged an
    OSError traceback from the stream's next heartbeat)."""
    import logging
    import threading
    import urllib.request

    from flask import Flask, Response

    from central.cli import close_http, http_server

    app = Flask(__name__)
    app.add_url_rule(
        "/stream", "stream",
        # no heartbeat is due while the test runs: one in *rest* was sent after the close
        lambda: Response(stream_frames(database, bus.subscribe(), lambda: 0, heartbeat_s=20, max_s=10), mimetype="text/event-stream"),
    )
    server = http_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    caplog.set_level(logging.WARNING, logger="waitress")
    with urllib.request.urlopen(f"http://127.0.0.1:{server.effective_port}/stream", timeout=30) as response:
        assert response.readline().startswith(b"retry:")
        close_http(server, bus)
        rest = response.read()  # the response ends: chunked encoding's last chunk, then EOF
    thread.join(10)
    assert b"ping" not in rest
    assert bus.subscriber_count == 0
    # waitress warns "Task queue depth is N" when a loaded machine is slow to pick up a task:
    # about the machine, not the close this test is about.
    problems = [r for r in caplog.records
                if r.levelno >= logging.WARNING and not r.getMessage().startswith("Task queue depth")]
    assert not problems, caplog.text
