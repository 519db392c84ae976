"""The gate's signed fetch end to end: central's gate endpoint and edge's EnrolmentClient."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import numpy as np
import pytest
from enr_support import GATE_ID, NOW_MS, NOW_S, enrolment, face_b64, iso_record
from flask import Flask

from central.db import Database
from central.enrolments import service
from central.services.audit import Actor
from edge.gate.enrolment_client import EnrolmentClient, Transport
from edge.gate.enrolment_wire import MAX_SKEW_MS, sign_request, sign_response
from protocol.keys import KeyPair, generate_keypair

BASE = "http://central.test"


def _enrol(db: Database, *numbers: str) -> None:
    with db.session() as s:
        for n in numbers:
            service.create(s, enrolment(n), Actor(username="bo", role="backoffice"))
        s.commit()


class FlaskTransport:
    """Sends the client's request to the app in-process; counts calls and can rewrite answers."""

    def __init__(self, app: Flask, rewrite=None) -> None:
        self.client = app.test_client()
        self.calls = 0
        self.rewrite = rewrite

    def __call__(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        self.calls += 1
        response = self.client.get(url.removeprefix(BASE), headers=headers)
        body = response.get_data()
        return (response.status_code, self.rewrite(body) if self.rewrite else body)


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _client(transport: Transport, gate_key: KeyPair, central_key: KeyPair, **kwargs) -> EnrolmentClient:
    return EnrolmentClient(BASE, gate_id=GATE_ID, gate_key=gate_key, central_key=central_key.public,
                           transport=transport, clock=lambda: NOW_S, **kwargs)


def test_found_templates_are_verified_and_decoded(app, db, gate_key, central_key) -> None:
    _enrol(db, "X1234567")
    result = _client(FlaskTransport(app), gate_key, central_key).fetch("x1234567<<", "idn")
    assert result.status == "found" and not result.go_to_counter and not result.from_cache
    t = result.templates
    assert np.array_equal(t.face, np.frombuffer(base64.b64decode(face_b64()), "<f4"))
    assert t.face.shape == (128,) and abs(float(np.linalg.norm(t.face)) - 1) < 1e-5
    assert t.fingerprint_iso == iso_record() and t.finger_position == 2 and t.face_model == "face-sface"
    assert t.fields["birth_date"] == "1990-05-17" and "SITI" not in repr(t)


def test_miss_is_signed_and_not_cached(app, db, gate_key, central_key) -> None:
    transport = FlaskTransport(app)
    client = _client(transport, gate_key, central_key)
    assert client.fetch("N0000001", "IDN").status == "miss"
    _enrol(db, "N0000001")  # enrolled after the first try: works at once
    assert client.fetch("N0000001", "IDN").status == "found"
    _enrol(db, "M1")
    assert client.fetch("M1", "MYS").status == "miss"  # same number, other issuing state
    assert transport.calls == 3


def _get(app: Flask, path: str, headers: dict[str, str]):
    return app.test_client().get(path, headers=headers)


PATH = "/api/v1/gate/enrolments/X1234567?issuing_state=IDN"


@pytest.mark.parametrize(
    ("make_headers", "reason"),
    [
        (lambda k: {}, "unsigned"),
        (lambda k: sign_request(generate_keypair(), "GET", PATH, NOW_MS, GATE_ID), "bad signature"),  # forged
        (lambda k: sign_request(k, "GET", "/api/v1/gate/enrolments/OTHER1?issuing_state=IDN", NOW_MS, GATE_ID),
         "bad signature"),  # signature of another request
        (lambda k: sign_request(k, "GET", PATH, NOW_MS - MAX_SKEW_MS - 1, GATE_ID), "stale"),
        (lambda k: sign_request(k, "GET", PATH, NOW_MS + MAX_SKEW_MS + 1, GATE_ID), "stale"),
        (lambda k: sign_request(k, "GET", PATH, NOW_MS, "gt-unknown"), "unknown gate"),
        (lambda k: {**sign_request(k, "GET", PATH, NOW_MS, GATE_ID), "X-Autogate-Time": "soon"}, "malformed"),
    ],
)
def test_refused_gate_requests(app, db, gate_key, make_headers, reason) -> None:
    _enrol(db, "X1234567")
    response = _get(app, PATH, make_headers(gate_key))
    assert response.status_code == 401 and response.json["reason"] == reason
    assert "payload" not in response.json


def test_accepted_request_inside_the_skew_window(app, db, gate_key) -> None:
    _enrol(db, "X1234567")
    response = _get(app, PATH, sign_request(gate_key, "GET", PATH, NOW_MS - MAX_SKEW_MS, GATE_ID))
    assert response.status_code == 200 and "signature" in response.json


def _tamper(body: bytes) -> bytes:
    data = json.loads(body)
    payload = json.loads(data["payload"])
    payload["enrolments"][0]["face_template"] = face_b64(99)  # an attacker's face
    data["payload"] = json.dumps(payload)
    return json.dumps(data).encode()


def test_tampered_or_foreign_answers_are_invalid(app, db, gate_key, central_key) -> None:
    _enrol(db, "X1234567")
    tampered = _client(FlaskTransport(app, _tamper), gate_key, central_key).fetch("X1234567", "IDN")
    assert tampered.status == "invalid" and tampered.go_to_counter and tampered.templates is None
    wrong_central = _client(FlaskTransport(app), gate_key, generate_keypair()).fetch("X1234567", "IDN")
    assert wrong_central.status == "invalid"
    not_json = _client(FlaskTransport(app, lambda b: b"<html>"), gate_key, central_key).fetch("X1234567", "IDN")
    assert not_json.status == "invalid"

    # A genuine central answer for another request (replayed by a man in the middle) is refused.
    def replay(body: bytes) -> bytes:
        payload = json.loads(json.loads(body)["payload"])
        payload["request_ms"] -= 1
        return json.dumps(sign_response(central_key, payload)).encode()

    assert _client(FlaskTransport(app, replay), gate_key, central_key).fetch("X1234567", "IDN").status == "invalid"


def test_cache_hits_ttl_lru_and_forget(app, db, gate_key, central_key) -> None:
    _enrol(db, "A1", "A2", "A3")
    transport, ticker = FlaskTransport(app), Ticker()
    client = _client(transport, gate_key, central_key, ttl_s=60, cache_size=2, monotonic=ticker)
    assert client.fetch("A1", "IDN").status == "found"
    again = client.fetch("a1", "idn")
    assert again.from_cache and again.status == "found" and transport.calls == 1
    ticker.now += 61
    assert not client.fetch("A1", "IDN").from_cache and transport.calls == 2  # expired
    client.fetch("A2", "IDN")
    client.fetch("A1", "IDN")  # A1 is now the most recently used
    client.fetch("A3", "IDN")  # evicts A2
    assert len(client) == 2 and transport.calls == 4
    assert client.fetch("A1", "IDN").from_cache and not client.fetch("A2", "IDN").from_cache
    client.forget("A2", "IDN")
    assert not client.fetch("A2", "IDN").from_cache
    client.clear()
    assert len(client) == 0


def test_transport_errors_and_late_answers(app, db, gate_key, central_key) -> None:
    _enrol(db, "X1234567")

    def times_out(url, headers, timeout_s):
        raise TimeoutError("slow")

    def refused(url, headers, timeout_s):
        raise ConnectionRefusedError("down")

    assert _client(times_out, gate_key, central_key).fetch("X1234567", "IDN").status == "timeout"
    assert _client(refused, gate_key, central_key).fetch("X1234567", "IDN").status == "unavailable"
    assert _client(lambda u, h, t: (503, b"{}"), gate_key, central_key).fetch("X1234567", "IDN").status == "unavailable"
    ticker, inner = Ticker(), FlaskTransport(app)

    def late(url, headers, timeout_s):
        ticker.now += timeout_s + 0.001  # the answer came, but after the budget
        return inner(url, headers, timeout_s)

    result = _client(late, gate_key, central_key, monotonic=ticker).fetch("X1234567", "IDN")
    assert result.status == "timeout" and result.go_to_counter
    with pytest.raises(ValueError):
        _client(late, gate_key, central_key, budget_s=0)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


def _serve(wsgi_app, release: threading.Event | None = None) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, wsgi_app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        if release is not None:
            release.set()  # let a held request finish so shutdown does not wait for it
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def central_url(app: Flask) -> Iterator[str]:
    yield from _serve(app)


@pytest.fixture
def hanging_url() -> Iterator[str]:
    release = threading.Event()

    def hang(environ, start_response):
        release.wait(10)  # holds the request until the test is over; the client gives up first
        start_response("204 No Content", [])
        return [b""]

    yield from _serve(hang, release)


def test_real_http_fetch(central_url, db, gate_key, central_key) -> None:
    _enrol(db, "X1234567")
    client = EnrolmentClient(central_url, gate_id=GATE_ID, gate_key=gate_key, central_key=central_key.public,
                             clock=lambda: NOW_S, budget_s=5.0)
    assert client.fetch("X1234567", "IDN").status == "found"
    assert client.fetch("Z9", "IDN").status == "miss"  # a signed 404 body is read, not an error


def test_real_http_timeout_and_refused(hanging_url, gate_key, central_key) -> None:
    client = EnrolmentClient(hanging_url, gate_id=GATE_ID, gate_key=gate_key, central_key=central_key.public,
                             budget_s=0.05)
    result = client.fetch("X1234567", "IDN")
    assert result.status == "timeout" and result.go_to_counter
    closed = EnrolmentClient("http://127.0.0.1:9", gate_id=GATE_ID, gate_key=gate_key,
                             central_key=central_key.public, budget_s=0.5)
    assert closed.fetch("X1234567", "IDN").status in ("unavailable", "timeout")
