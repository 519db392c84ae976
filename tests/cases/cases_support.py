"""Helpers for the cases tests: a database, an app with a fixed clock, a gate that signs events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import central.cases.models
import central.watchlists.models  # noqa: F401
from central.app import create_app
from central.db import Database
from central.ingest.metrics import IngestMetrics
from central.ingest.worker import Delivery, IngestWorker
from central.models import User
from central.services.gates import add_gate
from central.settings import CentralSettings
from protocol import GateEvent, generate_keypair
from signing_gate import NOW_MS, NOW_S, TRAVELER, FakeGate  # noqa: F401 (shared with the tests here)

CENTRAL_KEY = generate_keypair()


def make_database(url: str) -> Database:
    database = Database(url)
    database.create_all()
    return database


def register(database: Database, gate: FakeGate) -> None:
    with database.session() as session:
        add_gate(
            session,
            gate.gate_id,
            public_key_b64=gate.key.public.b64,
            direction="departure",
        )
        session.commit()


def new_gate(database: Database) -> FakeGate:
    gate = FakeGate(f"gt-{uuid.uuid4().hex[:10]}")
    register(database, gate)
    return gate


def feed(
    database: Database, *messages: tuple[str, bytes], clock_s: float = NOW_S
) -> None:
    """Push signed messages through the real ingest worker, synchronously."""
    worker = IngestWorker(
        database, ack=lambda _d: None, metrics=IngestMetrics(), clock=lambda: clock_s
    )
    for topic, payload in messages:
        assert worker.process(Delivery(topic, payload))


def hold_event(transaction_id: str = "tx-1", **details) -> GateEvent:
    return GateEvent(
        event="alarm_raised",
        transaction_id=transaction_id,
        reason="cekal_identik",
        traveler=TRAVELER,
        details={"watchlist_entry": "WL-1", **details},
    )


def count(database: Database, model, *where) -> int:
    with database.session() as session:
        return (
            session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        )


@dataclass
class Clock:
    """The app's clock, moved by the test."""

    now_s: float = NOW_S

    def __call__(self) -> float:
        return self.now_s


def make_app(database: Database, url: str, clock: Clock) -> Flask:
    return create_app(
        CentralSettings(demo_mode=True, database_url=url),
        database=database,
        central_key=CENTRAL_KEY,
        clock=clock,
    )


_HASH: list[str] = []


def _hash() -> str:
    if not _HASH:
        from argon2 import PasswordHasher

        _HASH.append(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("not-a-secret-pw"))
    return _HASH[0]


def make_user(database: Database, role: str, positions: tuple[str, ...] | None = None,
              username: str | None = None) -> User:
    """A user of *role*; with *positions* they hold exactly those, else their role's defaults."""
    from central.cases.positions import set_positions
    from central.services.audit import Actor

    with database.session() as session:
        user = User(username=username or f"{role}-{uuid.uuid4().hex[:6]}", role=role, password_hash=_hash(), active=True)
        session.add(user)
        session.flush()
        if positions is not None:
            set_positions(session, user.username, positions, Actor("test-admin", None))
        session.commit()
        return user


def actor_for(database: Database, role: str, *positions: str) -> "Actor":
    """An Actor for a stored user holding *positions* (its role's defaults when none given)."""
    from central.services.audit import Actor

    user = make_user(database, role, positions or None)
    return Actor(user.username, role)


def act_as(client: FlaskClient, database: Database, role: str, positions: tuple[str, ...] | None = None) -> str:
    """Log a new user of *role* in without the slow password check; returns the CSRF token."""
    return log_in(client, make_user(database, role, positions))


def log_in(client: FlaskClient, user: User) -> str:
    """Log *user* in on *client* (replacing whoever was); returns the CSRF token."""
    token = uuid.uuid4().hex
    with client.session_transaction() as s:
        s["user_id"] = user.id
        s["role"] = user.role
        s["csrf_token"] = token
    return token
