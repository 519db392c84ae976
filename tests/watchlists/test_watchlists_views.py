"""The watchlist API and page through Flask's test client: roles, CSRF, audit, publication."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from wl_support import (
    CENTRAL_KEY,
    HEADER,
    NOW_S,
    ROWS,
    FakeBroker,
    entry_data,
    make_database,
)

from central.app import create_app
from central.db import Database
from central.models import AuditEntry, User
from central.settings import CentralSettings
from central.watchlists import views
from central.watchlists.models import WatchlistEntryRow
from protocol.topics import WATCHLIST_NOTICE


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = make_database(f"sqlite:///{tmp_path / 'central.db'}")
    yield database
    database.dispose()


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def app(db: Database, broker: FakeBroker) -> Flask:
    app = create_app(CentralSettings(demo_mode=True, database_url=db.url), database=db, central_key=CENTRAL_KEY,
                     clock=lambda: NOW_S)
    views.init_app(app, publish=broker.publish)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[Flask, Database]]:
    """One app for the role table (each case logs in a new user; no case changes data)."""
    database = make_database(f"sqlite:///{tmp_path_factory.mktemp('roles') / 'central.db'}")
    app = create_app(CentralSettings(demo_mode=True, database_url=database.url), database=database,
                     central_key=CENTRAL_KEY, clock=lambda: NOW_S)
    views.init_app(app, publish=FakeBroker().publish)
    yield app, database
    database.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def act_as(client: FlaskClient, db: Database, role: str) -> dict[str, str]:
    """A session for a new user of *role* (login has its own tests); returns the CSRF header."""
    with db.session() as s:
        user = User(username=f"{role}-{uuid.uuid4().hex[:6]}", role=role, password_hash="x", active=True)
        s.add(user)
        s.commit()
        user_id = user.id
    token = uuid.uuid4().hex
    with client.session_transaction() as session:
        session["user_id"], session["role"], session["csrf_token"] = user_id, role, token
    return {"X-CSRF-Token": token}


READS = [("GET", "/api/v1/watchlist"), ("GET", "/api/v1/watchlist/versions"), ("GET", "/watchlist")]
WRITES = [("POST", "/api/v1/watchlist"), ("POST", "/api/v1/watchlist/import"),
          ("POST", "/api/v1/watchlist/some-id/deactivate"), ("PATCH", "/api/v1/watchlist/some-id")]


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [(role, m, p, role in ("admin", "supervisor", "officer")) for role in
     ("admin", "supervisor", "officer", "report_only", "backoffice") for m, p in READS]
    + [(role, m, p, role in ("admin", "supervisor")) for role in ("supervisor", "officer", "report_only") for m, p in WRITES],
)
def test_roles(shared: tuple[Flask, Database], role: str, method: str, path: str, allowed: bool) -> None:
    app, db = shared
    client = app.test_client()
    headers = act_as(client, db, role)
    response = client.open(path, method=method, headers=headers, json={})
    if allowed:
        assert response.status_code != 403
    else:
        assert response.status_code == 403


def test_anonymous_is_refused(client: FlaskClient) -> None:
    assert client.get("/api/v1/watchlist").status_code == 401


def test_create_update_deactivate_audited_versioned_published(client: FlaskClient, db: Database, broker: FakeBroker) -> None:
    headers = act_as(client, db, "supervisor")
    response = client.post("/api/v1/watchlist", json=entry_data(), headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["version"] == 1 and body["published"] is True
    entry_id = body["added"][0]
    assert WATCHLIST_NOTICE in broker.retained
    assert client.post("/api/v1/watchlist", json=entry_data(), headers=headers).status_code == 400  # exists
    response = client.patch(f"/api/v1/watchlist/{entry_id}", json={"valid_until": "2028-01-01"}, headers=headers)
    assert response.get_json()["version"] == 2
    assert client.get(f"/api/v1/watchlist/{entry_id}").get_json()["valid_until"] == "2028-01-01"
    response = client.post(f"/api/v1/watchlist/{entry_id}/deactivate", json={"reason": "lifted"}, headers=headers)
    assert response.get_json()["removed"] == [entry_id]
    assert client.get("/api/v1/watchlist").get_json()["entries"] == []
    assert len(client.get("/api/v1/watchlist?inactive=true").get_json()["entries"]) == 1
    versions = client.get("/api/v1/watchlist/versions").get_json()
    assert versions["current"] == 3 and all(v["published_at"] for v in versions["versions"])
    with db.session() as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["watchlist_add", "watchlist_update", "watchlist_deactivate"]
    assert client.get("/api/v1/watchlist/nope").status_code == 404


def test_bad_field_is_400_naming_it(client: FlaskClient, db: Database) -> None:
    headers = act_as(client, db, "admin")
    response = client.post("/api/v1/watchlist", json=entry_data(birth_date="1990-13-01"), headers=headers)
    assert response.status_code == 400 and "birth_date" in response.get_json()["message"]


def test_state_changes_need_the_csrf_token(client: FlaskClient, db: Database) -> None:
    act_as(client, db, "supervisor")
    assert client.post("/api/v1/watchlist", json=entry_data()).status_code == 403
    with db.session() as s:
        assert s.scalars(select(WatchlistEntryRow)).all() == []


def test_csv_import_api_all_or_nothing(client: FlaskClient, db: Database) -> None:
    headers = act_as(client, db, "supervisor")
    bad = HEADER + ROWS[0] + "penangkalan,P1,DOE,JANE,1980-13-01,GBR,F,BNN,,,x\n"
    response = client.post("/api/v1/watchlist/import", data={"file": (io.BytesIO(bad.encode()), "bad.csv")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["rows"] == [{"row": 3, "column": "birth_date", "message": response.get_json()["rows"][0]["message"]}]
    assert client.get("/api/v1/watchlist").get_json()["entries"] == []
    response = client.post("/api/v1/watchlist/import", data=(HEADER + "".join(ROWS)).encode(), headers=headers,
                           content_type="text/csv")
    assert response.status_code == 200 and response.get_json()["version"] == 1
    assert len(response.get_json()["added"]) == 3


def test_page_lists_searches_adds_and_imports(client: FlaskClient, db: Database) -> None:
    headers = act_as(client, db, "supervisor")
    token = headers["X-CSRF-Token"]
    response = client.post("/watchlist/add", data={**{k: v for k, v in entry_data().items() if k != "document_numbers"},
                                                   "document_numbers": "X1234567;Y7654321", "csrf_token": token})
    assert response.status_code == 302
    response = client.post("/watchlist/import", data={"csrf_token": token, "file": (io.BytesIO((HEADER + ROWS[1]).encode()), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get("/watchlist?q=rahayu").get_data(as_text=True)
    assert "RAHAYU" in page and "SMITH" not in page and "Y7654321" in page and "Deactivate" in page
    assert 'id="watchlist-version">2<' in page


def test_officer_page_has_no_forms(client: FlaskClient, db: Database) -> None:
    act_as(client, db, "officer")
    page = client.get("/watchlist").get_data(as_text=True)
    assert "Add an entry" not in page and "Import a CSV" not in page


def test_without_a_publisher_changes_are_stored_not_published(db: Database) -> None:
    app = create_app(CentralSettings(demo_mode=True, database_url=db.url), database=db, central_key=CENTRAL_KEY,
                     clock=lambda: NOW_S)
    views.init_app(app)
    client = app.test_client()
    headers = act_as(client, db, "supervisor")
    body = client.post("/api/v1/watchlist", json=entry_data(), headers=headers).get_json()
    assert body["version"] == 1 and body["published"] is None


def test_a_broker_outage_keeps_the_change(db: Database) -> None:
    from central.errors import CommandNotSent

    def down(topic: str, payload: bytes, retain: bool) -> None:
        raise CommandNotSent("broker down (test)")

    app = create_app(CentralSettings(demo_mode=True, database_url=db.url), database=db, central_key=CENTRAL_KEY,
                     clock=lambda: NOW_S)
    views.init_app(app, publish=down)
    client = app.test_client()
    headers = act_as(client, db, "supervisor")
    response = client.post("/api/v1/watchlist", json=entry_data(), headers=headers)
    assert response.status_code == 201 and response.get_json()["published"] is False
    assert client.get("/api/v1/watchlist/versions").get_json()["versions"][0]["published_at"] is None
