"""Fixtures for central: a fresh database and app per test (helpers in ``central_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from central_support import CENTRAL_KEY, NOW_S, RecordingPublisher, demo_settings, make_database
from flask import Flask
from flask.testing import FlaskClient

from central.app import create_app
from central.db import Database
from central.ingest.metrics import IngestMetrics


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'central.db'}"


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Database]:
    """SQLite only: for web tests whose behaviour does not depend on the database engine."""
    db = make_database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
def any_database(database_url: str) -> Iterator[Database]:
    """SQLite and PostgreSQL (the shared ``database_url`` fixture)."""
    db = make_database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def metrics() -> IngestMetrics:
    return IngestMetrics()


@pytest.fixture
def app(database: Database, sqlite_url: str, publisher: RecordingPublisher, metrics: IngestMetrics) -> Flask:
    return create_app(
        demo_settings(sqlite_url),
        database=database,
        central_key=CENTRAL_KEY,
        publisher=publisher,
        metrics=metrics,
        clock=lambda: NOW_S,
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()