"""Fixtures for enrolments: a fresh database, a central app with the area registered, a gate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from enr_support import GATE_ID, NOW_S, make_database
from flask import Flask

from central.app import create_app
from central.db import Database
from central.enrolments import views
from central.services.gates import add_gate
from central.settings import CentralSettings
from protocol.keys import KeyPair, generate_keypair

CENTRAL_KEY = generate_keypair()
GATE_KEY = generate_keypair()


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = make_database(f"sqlite:///{tmp_path / 'central.db'}")
    with database.session() as s:
        add_gate(s, GATE_ID, public_key_b64=GATE_KEY.public.b64, direction="departure")
        s.commit()
    yield database
    database.dispose()


@pytest.fixture
def central_key() -> KeyPair:
    return CENTRAL_KEY


@pytest.fixture
def gate_key() -> KeyPair:
    return GATE_KEY


@pytest.fixture
def app(db: Database) -> Flask:
    app = create_app(CentralSettings(demo_mode=True, database_url=db.url), database=db, central_key=CENTRAL_KEY,
                     clock=lambda: NOW_S, extensions=[views.init_app])
    app.config["TESTING"] = True
    return app
