"""Helpers for the cases tests: a database, an app with a fixed clock, a gate that signs events."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date

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
from protocol import GateEvent, KeyPair, TravelerDocument, generate_keypair, seal
from protocol.topics import gate_events

NOW_S = 1_790_000_000.0
NOW_MS = int(NOW_S * 1000)
CENTRAL_KEY = generate_keypair()

TRAVELER = TravelerDocument(
    document_number="X1234567",
    document_type="P",
    issuing_state="IDN",
    expiry_date=date(2030, 1, 1),
    given_names="SITI",
    surname="RAHAYU",
    sex="F",
    birth_date=date(1990, 5, 17),
    nationality="IDN",
)


@dataclass
class FakeGate:
    gate_id: str
    key: KeyPair = field(default_factory=generate_keypair)
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def event(
        self, payload: GateEvent, *, message_id: str | None = None
    ) -> tuple[str, bytes]:
        return gate_events(self.gate_id), seal(
            payload,
            sender=self.gate_id,
            key=self.key,
            seq=next(self.seq),
            now_ms=NOW_MS,
            message_id=message_id,
        )


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


def act_as(client: FlaskClient, database: Database, role: str) -> str:
    """Log a new user of *role* in without the slow password check; returns the CSRF token."""
    if not _HASH:
        from argon2 import PasswordHasher

        _HASH.append(
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
                "not-a-secret-pw"
            )
        )
    with database.session() as session:
        user = User(
            username=f"{role}-{uuid.uuid4().hex[:6]}",
            role=role,
            password_hash=_HASH[0],
            active=True,
        )
        session.add(user)
        session.commit()
        user_id = user.id
    token = uuid.uuid4().hex
    with client.session_transaction() as s:
        s["user_id"] = user_id
        s["role"] = role
        s["csrf_token"] = token
    return token
