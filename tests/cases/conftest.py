"""Fixtures for the cases tests (helpers live in cases_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cases_support import Clock, make_app, make_database

from central.db import Database


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Database]:
    db = make_database(sqlite_url)
    yield db
    db.dispose()


@pytest.fixture
def any_database(database_url: str) -> Iterator[Database]:
    """SQLite and PostgreSQL (the shared ``database_url`` fixture; PostgreSQL skips when absent)."""
    db = make_database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database: Database, sqlite_url: str, clock: Clock, monkeypatch):
    monkeypatch.delenv("AUTOGATE_CASES_TARIFF_FILE", raising=False)
    return make_app(database, sqlite_url, clock)


@pytest.fixture
def client(app):
    return app.test_client()
