"""Shared fixtures: the MQTT broker and the database, each on the embedded default and the real service.

``mqtt_broker`` and ``database_url`` are parametrized so every test that uses them runs twice:
once on the zero-setup defaults (the embedded amqtt broker, a SQLite file) and once on the
services a deployment uses (Mosquitto on 127.0.0.1:1883, PostgreSQL on 127.0.0.1:5432/test).
A missing service skips its half, unless AUTOGATE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from broker_support import TEST_PASSWORD, TEST_USER, clear_new_retained, retained_messages

REQUIRE_SERVICES = os.environ.get("AUTOGATE_REQUIRE_SERVICES") == "1"
MOSQUITTO = ("127.0.0.1", int(os.environ.get("AUTOGATE_TEST_MOSQUITTO_PORT", "1883")))
POSTGRES_URL = os.environ.get(
    "AUTOGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _service_missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is not reachable and AUTOGATE_REQUIRE_SERVICES=1")
    pytest.skip(f"{what} is not reachable (set AUTOGATE_REQUIRE_SERVICES=1 to fail instead)")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class BrokerInfo:
    """Where a test's MQTT clients connect, and with which account."""

    kind: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    embedded: object | None = None  # the EmbeddedBroker, for the embedded kind

    def wait_until_gone(self, client_id: str, timeout_s: float = 10.0) -> bool:
        """Wait until the broker has processed *client_id*'s DISCONNECT (Mosquitto does so at once)."""
        if self.embedded is None:
            return True
        tick = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            if not self.embedded.client_connected(client_id):  # type: ignore[attr-defined]
                return True
            tick.wait(0.05)
        return False

    def client_kwargs(self) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "username": self.username, "password": self.password}




@pytest.fixture(scope="session")
def _embedded_broker() -> Iterator[BrokerInfo]:
    from simulators.broker import EmbeddedBroker

    # Authenticated: amqtt only keeps offline sessions (persistent subscriptions) for them.
    broker = EmbeddedBroker(users={TEST_USER: TEST_PASSWORD}).start()
    try:
        yield BrokerInfo("embedded", broker.host, broker.port, TEST_USER, TEST_PASSWORD, embedded=broker)
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def _mosquitto_retained_guard() -> Iterator[None]:
    """The shared Mosquitto keeps retained messages (gates' state and last will) after the
    tests: those the session added are deleted at its end, so nothing of ours stays there."""
    host, port = MOSQUITTO
    before = retained_messages(host, port)
    yield
    added = clear_new_retained(host, port, before)
    if added:
        import logging

        logging.getLogger(__name__).info("deleted %d retained messages the tests left on %s:%d", len(added), host, port)


def mosquitto_broker(request: pytest.FixtureRequest | None = None) -> BrokerInfo:
    host, port = MOSQUITTO
    if not _port_open(host, port):
        _service_missing(f"Mosquitto on {host}:{port}")
    if request is not None:
        request.getfixturevalue("_mosquitto_retained_guard")
    return BrokerInfo("mosquitto", host, port, TEST_USER, TEST_PASSWORD)


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards: isolated, leaves nothing behind."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a runtime dependency
        _service_missing("psycopg")
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError:
        _service_missing(f"PostgreSQL at {plain}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["embedded", "mosquitto"])
def mqtt_broker(request: pytest.FixtureRequest) -> BrokerInfo:
    if request.param == "embedded":
        return request.getfixturevalue("_embedded_broker")
    return mosquitto_broker(request)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    with postgres_schema_url() as url:
        yield url


@dataclass(frozen=True)
class Stack:
    """A broker and a database that belong together: the embedded defaults, or the real services."""

    kind: str
    broker: BrokerInfo
    database_url: str


@pytest.fixture(params=["embedded", "services"])
def stack(request: pytest.FixtureRequest, tmp_path) -> Iterator[Stack]:
    """Embedded amqtt + SQLite (zero setup), or Mosquitto + PostgreSQL (as deployed)."""
    if request.param == "embedded":
        yield Stack("embedded", request.getfixturevalue("_embedded_broker"), f"sqlite:///{tmp_path / 'central.db'}")
        return
    broker = mosquitto_broker(request)
    with postgres_schema_url() as url:
        yield Stack("services", broker, url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The real PostgreSQL only, in a fresh schema (for what only PostgreSQL has: LISTEN/NOTIFY)."""
    with postgres_schema_url() as url:
        yield url


@pytest.fixture
def mosquitto(request: pytest.FixtureRequest) -> BrokerInfo:
    """The real Mosquitto only (its retained messages guarded like the other broker fixtures')."""
    return mosquitto_broker(request)
