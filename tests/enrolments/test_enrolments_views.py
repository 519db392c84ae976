from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from enr_support import NOW_S, act_as, enrolment, make_database
from flask import Flask

from central.app import create_app
from central.db import Database
from central.enrolments import views
from central.settings import CentralSettings
from protocol.keys import generate_keypair


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[Flask, Database]]:
    """One app for the role table (each case logs in a new user; no allowed case changes data)."""
    database = make_database(f"sqlite:///{tmp_path_factory.mktemp('roles') / 'central.db'}")
    app = create_app(CentralSettings(demo_mode=True, database_url=database.url), database=database,
                     central_key=generate_keypair(), clock=lambda: NOW_S, extensions=[views.init_app])
    yield app, database
    database.dispose()

WRITES = [("POST", "/api/v1/enrolments"), ("POST", "/api/v1/enrolments/import"),
          ("POST", "/api/v1/enrolments/1/deactivate")]
READS = [("GET", "/api/v1/enrolments?document_number=X1234567")]


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [(role, m, p, role in ("admin", "backoffice")) for role in
     ("admin", "backoffice", "supervisor", "officer", "report_only", "cctv_operator") for m, p in WRITES]
    + [(role, m, p, role in ("admin", "supervisor", "officer")) for role in
       ("admin", "supervisor", "officer", "backoffice", "report_only", "cctv_operator") for m, p in READS],
)
def test_roles(shared: tuple[Flask, Database], role: str, method: str, path: str, allowed: bool) -> None:
    app, db = shared
    client = app.test_client()
    headers = act_as(client, db, role)
    response = client.open(path, method=method, headers=headers, json={})
    assert (response.status_code != 403) is allowed


def test_anonymous_is_refused_and_csrf_is_required(app: Flask, db: Database) -> None:
    client = app.test_client()
    assert client.get("/api/v1/enrolments?document_number=X1").status_code == 401
    act_as(client, db, "backoffice")
    assert client.post("/api/v1/enrolments", json=enrolment()).status_code == 403  # no CSRF header


def test_issue_import_read_deactivate(app: Flask, db: Database) -> None:
    back_office = app.test_client()
    headers = act_as(back_office, db, "backoffice")
    created = back_office.post("/api/v1/enrolments", json=enrolment(), headers=headers)
    assert created.status_code == 201 and created.json["source"] == "issuance"
    batch = back_office.post("/api/v1/enrolments", json={"enrolments": [enrolment("B1"), enrolment("B2")]}, headers=headers)
    assert batch.json == {"imported": 2, "replaced": 0}
    text = json.dumps(enrolment("F1")) + "\n"
    assert back_office.post("/api/v1/enrolments/import?format=jsonl", data=text, headers=headers).json["imported"] == 1
    bad = back_office.post("/api/v1/enrolments", json={"enrolments": [enrolment("B3", sex="Q")]}, headers=headers)
    assert bad.status_code == 400 and bad.json["errors"][0] == {"row": 1, "field": "sex", "message": bad.json["errors"][0]["message"]}
    assert back_office.post("/api/v1/enrolments", json=enrolment(sex="Q"), headers=headers).status_code == 400

    officer = app.test_client()
    act_as(officer, db, "officer")
    found = officer.get("/api/v1/enrolments?document_number=x1234567&issuing_state=IDN")
    [view] = found.json["enrolments"]
    assert view["surname"] == "RAHAYU" and len(view["face"]["sha256"]) == 16
    assert enrolment()["face_template"] not in found.get_data(as_text=True)  # officers never get templates

    assert back_office.post(f"/api/v1/enrolments/{view['id']}/deactivate", json={}, headers=headers).status_code == 400
    done = back_office.post(f"/api/v1/enrolments/{view['id']}/deactivate", json={"reason": "lost"}, headers=headers)
    assert done.status_code == 200 and done.json["active"] is False and done.json["face"] is None
    assert officer.get("/api/v1/enrolments?document_number=X1234567").json["enrolments"] == []
    again = back_office.post(f"/api/v1/enrolments/{view['id']}/deactivate", json={"reason": "lost"}, headers=headers)
    assert again.status_code == 404
