"""What central's tests share besides fixtures: a fake gate that signs messages, a sample traveler,
signed-in test users and a synchronous ingest. In its own module, not conftest.py, so that test
modules import it by a name no other test directory uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask.testing import FlaskClient

from central.db import Database
from central.ingest.metrics import IngestMetrics
from central.models import User
from central.services.gates import add_gate
from central.settings import CentralSettings
from protocol import CrossingRecord, GateEvent, TravelerDocument, generate_keypair
from signing_gate import NOW_MS, NOW_S, TRAVELER, FakeGate  # noqa: F401 (shared with the tests here)


def crossing(transaction_id: str = "tx-1", traveler: TravelerDocument = TRAVELER, completed_at_ms: int = NOW_MS) -> CrossingRecord:
    return CrossingRecord(
        transaction_id=transaction_id,
        direction="departure",
        traveler=traveler,
        started_at_ms=completed_at_ms - 9000,
        completed_at_ms=completed_at_ms,
        timings_ms={"document_scan": 800, "total": 9000},
    )


def gate_event(event: str = "document_read", **kwargs) -> GateEvent:
    return GateEvent(event=event, **kwargs)


def register(database: Database, gate: FakeGate, direction: str = "departure") -> None:
    with database.session() as session:
        add_gate(session, gate.gate_id, public_key_b64=gate.key.public.b64, direction=direction)
        session.commit()


def unique_gate_id() -> str:
    # Unique per test: Mosquitto keeps retained messages between runs.
    return f"gt-{uuid.uuid4().hex[:10]}"


def make_database(url: str) -> Database:
    database = Database(url)
    database.create_all()
    return database


def demo_settings(url: str, **overrides) -> CentralSettings:
    return CentralSettings(demo_mode=True, database_url=url, **overrides)


@dataclass
class RecordingPublisher:
    """Stands in for the broker connection: records what would be published."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)
    fail: bool = False

    def publish(self, topic: str, payload: bytes, *, timeout_s: float = 5.0) -> None:
        from central.errors import CommandNotSent

        if self.fail:
            raise CommandNotSent("broker down (test)")
        self.sent.append((topic, payload))


CENTRAL_KEY = generate_keypair()


# One argon2 hash for every test user, with cheap parameters: production hashing is slow by
# design, and the verifier reads the parameters from the hash (a login then upgrades it).
TEST_PASSWORD = "correct horse battery staple"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        from argon2 import PasswordHasher

        _HASH.append(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(TEST_PASSWORD))
    return _HASH[0]


def add_user(database: Database, username: str, role: str) -> int:
    with database.session() as session:
        user = User(username=username, role=role, password_hash=password_hash(), active=True)
        session.add(user)
        session.commit()
        return user.id


def act_as(client: FlaskClient, database: Database, role: str) -> str:
    """Open a session for a new user of *role* without the slow password check (login has its own
    tests); returns the CSRF token to send with state-changing requests."""
    user_id = add_user(database, f"{role}-{uuid.uuid4().hex[:6]}", role)
    token = uuid.uuid4().hex
    with client.session_transaction() as session:
        session["user_id"] = user_id
        session["role"] = role
        session["csrf_token"] = token
    return token


def ingest(database: Database, *messages: tuple[str, bytes]) -> IngestMetrics:
    """Push signed messages through the real worker, synchronously."""
    from central.ingest.worker import Delivery, IngestWorker

    metrics = IngestMetrics()
    worker = IngestWorker(database, ack=lambda _d: None, metrics=metrics, clock=lambda: NOW_S)
    for topic, payload in messages:
        assert worker.process(Delivery(topic, payload))
    return metrics
