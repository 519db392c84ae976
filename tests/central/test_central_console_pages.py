"""The console page, the UI languages, the OpenAPI document, the face evidence and the roles of
every route this area added."""

from __future__ import annotations

import json
import uuid
import re
from pathlib import Path

import pytest
from central_support import NOW_MS, NOW_S, TRAVELER, FakeGate, act_as, ingest, register, unique_gate_id

import central
from central.i18n import translate
from central.i18n_table import CONSOLE_SCRIPT_STRINGS, ENGLISH_LABELS, INDONESIAN
from central.roles import ALL_ROLES, PUBLIC, Role, declared_roles
from protocol import GateState

CONSOLE = frozenset({Role.SUPERVISOR, Role.ADMIN})
OPERATIONS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE})
REPORTING = OPERATIONS | {Role.REPORT_ONLY}

# Written down independently of the decorators: who may use each route this area added.
NEW_ROUTES: dict[str, tuple[frozenset[str], str]] = {
    "console.stream": (CONSOLE, "/console/stream"),
    "reports.crossings_page": (OPERATIONS, "/reports/crossings"),
    "reports.daily_page": (REPORTING, "/reports/daily"),
    "reports.gates_page": (REPORTING, "/reports/gates"),
    "api.gate_faces": (CONSOLE, "/api/v1/gates/gt-x/faces/tx-1"),
    "api.daily_report": (REPORTING, "/api/v1/reports/daily"),
    "api.gate_stats": (REPORTING, "/api/v1/stats/gates"),
    "api.openapi": (frozenset(ALL_ROLES), "/api/v1/openapi.json"),
}
TEMPLATES = Path(central.__file__).parent / "templates"


def test_new_routes_declare_exactly_the_intended_roles(app) -> None:
    for endpoint, (roles, _url) in NEW_ROUTES.items():
        assert declared_roles(app.view_functions[endpoint]) == roles, endpoint


@pytest.mark.parametrize("role", sorted(Role))
def test_each_new_route_refuses_the_roles_it_does_not_allow(app, database, role) -> None:
    client = app.test_client()
    act_as(client, database, role)
    for endpoint, (roles, url) in NEW_ROUTES.items():
        status = client.get(url).status_code
        if role in roles:
            assert status != 403, (role, endpoint)
        else:
            assert status == 403, (role, endpoint, status)


def test_new_routes_refuse_anonymous_users(app) -> None:
    client = app.test_client()
    for _roles, url in NEW_ROUTES.values():
        status = client.get(url).status_code
        assert status == (401 if url.startswith("/api/") else 302), url


# ---- console page ------------------------------------------------------------------------
def test_console_page_has_no_inline_script_and_a_strict_csp(client, database) -> None:
    act_as(client, database, "supervisor")
    response = client.get("/console")
    html = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="' in tag or 'type="application/json"' in tag, tag  # data, never code
    table = json.loads(re.search(r'id="console-strings">(.*?)</script>', html, re.DOTALL).group(1))
    assert table["Grant retry"] == "Grant retry"
    assert 'data-stream-url="/console/stream"' in html
    assert 'data-can-command="yes"' in html


def test_live_view_carries_the_nine_mrz_fields(client, database) -> None:
    gate = FakeGate("gt-held1")
    register(database, gate)
    state = GateState(
        state="held",
        entry_door="locked",
        exit_door="locked",
        since_ms=int(NOW_S * 1000) - 61000,
        direction="departure",
        transaction_id="tx-1",
        traveler=TRAVELER,
        alarm="cekal_identik",
        retries=1,
    )
    ingest(database, gate.state(state))
    act_as(client, database, "supervisor")
    (view,) = client.get("/console/live").get_json()["gates"]
    assert view["time_in_state_s"] == 61 and view["retries"] == 1
    assert len(view["mrz"]) == 9 and view["mrz"]["birth_date"] == "1990-05-17"


def _jpeg(shade: int) -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.full((40, 32, 3), shade, np.uint8))
    assert ok
    return data.tobytes()


def _ingest_now(database, *messages) -> None:
    """Through the real worker on the real clock (face evidence expires against utcnow)."""
    import time

    from central.ingest.worker import Delivery, IngestWorker

    worker = IngestWorker(database, ack=lambda _d: None, clock=time.time)
    for topic, payload in messages:
        assert worker.process(Delivery(topic, payload))


def test_face_evidence_is_shown_to_the_supervisor_and_audited(client, database) -> None:
    import time

    from central.models import AuditEntry, GateMessage
    from protocol import FaceEvidence

    gate = FakeGate("gt-face1")
    register(database, gate)
    captured, enrolled = _jpeg(90), _jpeg(200)
    evidence = FaceEvidence(transaction_id="tx-1", captured_jpeg=captured, enrolled_jpeg=enrolled,
                            enrolled_source="document", score=0.12, threshold=0.36)
    _ingest_now(database, gate.event(evidence, now_ms=int(time.time() * 1000)))
    act_as(client, database, "supervisor")
    body = client.get("/api/v1/gates/gt-face1/faces/tx-1").get_json()
    assert body["captured"] == "data:image/jpeg;base64," + __import__("base64").b64encode(captured).decode()
    assert body["enrolled"].startswith("data:image/jpeg;base64,") and body["enrolled_source"] == "document"
    assert (body["score"], body["threshold"]) == (0.12, 0.36)
    with database.session() as session:
        (ledger,) = session.query(GateMessage).filter_by(kind="face_evidence").all()
        assert "captured_jpeg" not in ledger.payload and ledger.payload["images"] == "face_evidence"
        views = session.query(AuditEntry).filter_by(action="face_view").all()
        assert [v.details["transaction_id"] for v in views] == ["tx-1"]
    assert client.get("/api/v1/gates/gt-face1/faces/tx-2").status_code == 404
    assert client.get("/api/v1/gates/gt-none/faces/tx-1").status_code == 404


def test_face_evidence_past_its_retention_is_purged_not_shown(client, database) -> None:
    from datetime import timedelta

    from central.ingest.store import FACE_EVIDENCE_RETENTION
    from central.models import FaceEvidenceRecord
    from protocol import FaceEvidence

    gate = FakeGate("gt-face2")
    register(database, gate)
    # NOW_S is months ago: the evidence arrived then and expired a day later.
    ingest(database, gate.event(FaceEvidence(transaction_id="tx-9", captured_jpeg=_jpeg(10))))
    assert FACE_EVIDENCE_RETENTION <= timedelta(days=1)
    act_as(client, database, "supervisor")
    assert client.get("/api/v1/gates/gt-face2/faces/tx-9").status_code == 404
    with database.session() as session:
        assert session.query(FaceEvidenceRecord).count() == 0


# ---- languages ---------------------------------------------------------------------------
def test_language_follows_accept_language_then_the_session_choice(client, database) -> None:
    act_as(client, database, "supervisor")
    assert "Supervisor console" in client.get("/console").get_data(as_text=True)
    indonesian = client.get("/console", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert "Konsol pengawas" in indonesian and 'lang="id"' in indonesian
    assert '"Grant retry": "Beri kesempatan ulang"' in indonesian
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = client.post("/lang", data={"lang": "en", "next": "/console", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/console"
    chosen = client.get("/console", headers={"Accept-Language": "id"}).get_data(as_text=True)
    assert "Supervisor console" in chosen  # the session's choice beats the browser's


def test_language_toggle_refuses_off_site_redirects_and_needs_csrf(client) -> None:
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post("/lang", data={"lang": "id", "next": "//evil.example/x", "csrf_token": "t"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]
    assert client.post("/lang", data={"lang": "id"}).status_code == 403
    login = client.get("/login").get_data(as_text=True)
    assert 'id="lang-id"' in login and 'id="lang-en"' in login  # the toggle works before logging in


def test_every_ui_string_has_an_indonesian_translation() -> None:
    used: set[str] = set(CONSOLE_SCRIPT_STRINGS)
    for path in [*TEMPLATES.glob("*.html"), *TEMPLATES.glob("*/*.html")]:
        text = path.read_text()
        used |= set(re.findall(r'_\("([^"]+)"', text)) | set(re.findall(r"_\('([^']+)'", text))
    views = Path(central.__file__).parent / "views"
    for path in views.glob("*.py"):  # flashed messages
        used |= set(re.findall(r'\b_\("([^"]+)"', path.read_text()))
    from central.navigation import NAVIGATION

    used |= {e.label for e in NAVIGATION} | {e.description for e in NAVIGATION if e.description}
    # prefixes of codes looked up at run time ("outcome." + code)
    used = {s for s in used if not s.endswith(".") or " " in s}
    script = (Path(central.__file__).parent / "static" / "console.js").read_text()
    used |= {s for s in re.findall(r'\bt\("([^"]+)"\)', script)}
    used |= {s for s in re.findall(r'\["([A-Z][^"]+)", \d+\]', script)}  # the case-clock labels
    missing = sorted(s for s in used if s not in INDONESIAN)
    assert not missing, missing
    assert set(ENGLISH_LABELS) <= set(INDONESIAN)


def test_coded_labels_fall_back_to_readable_text() -> None:
    assert translate("state.held", "en") == "HELD (cekal)"
    assert translate("state.held", "id") == "DITAHAN (cekal)"
    assert translate("outcome.some_new_outcome", "id") == "some new outcome"
    assert translate("Plain English", "id") == "Plain English"


# ---- OpenAPI -----------------------------------------------------------------------------
def test_openapi_lists_every_api_route_with_its_roles(app, client, database) -> None:
    act_as(client, database, "report_only")
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    listed = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][path][method.lower()]
            roles = declared_roles(app.view_functions[rule.endpoint])
            expected = {"public"} if roles == PUBLIC else set(roles)  # apidoc names a public route "public"
            assert set(operation["x-roles"]) == expected, rule.endpoint
            if rule.endpoint.startswith("api."):
                assert "x-undocumented" not in operation, f"{rule.endpoint}: add it to apidoc.SPECS"
            listed += 1
    assert listed >= 15
    command = doc["paths"]["/commands"]["post"]
    assert command["requestBody"]["content"]["application/json"]["schema"]["properties"]["reason"]["minLength"] == 3
    assert {
        "name": "gate_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    } in doc["paths"]["/gates/{gate_id}"]["get"]["parameters"]
    assert any(p["name"] == "document_number" for p in doc["paths"]["/crossings"]["get"]["parameters"])


def test_the_live_view_reads_all_gates_at_once_and_shows_the_same(any_database) -> None:
    """console_gate_views (three queries for every gate) must show what console_gate_view shows
    gate by gate: the newest command, and faces only for the gate's current transaction."""
    from datetime import timedelta

    from central.models import CommandRecord, FaceEvidenceRecord, Gate, utcnow
    from central.views.console import console_gate_view, console_gate_views

    ids = [unique_gate_id() for _ in range(3)]
    for gate_id in ids:
        register(any_database, FakeGate(gate_id))
    soon = utcnow() + timedelta(hours=1)
    with any_database.session() as session:
        for n, action in enumerate(("retry", "release")):  # two for the first gate: the newest shows
            session.add(CommandRecord(command_id=f"c-{uuid.uuid4().hex}", gate_id=ids[0], action=action,
                                      reason=f"r{n}", issued_by="spv", expires_at=soon))
        session.get(Gate, ids[1]).state = {"state": "face_check", "transaction_id": "tx-now", "commands": []}
        session.get(Gate, ids[2]).state = {"state": "face_check", "transaction_id": "tx-other", "commands": []}
        for gate_id, transaction in ((ids[1], "tx-now"), (ids[2], "tx-old")):
            session.add(FaceEvidenceRecord(gate_id=gate_id, transaction_id=transaction, captured_jpeg=b"\xff\xd8",
                                           expires_at=soon, source_message_id=uuid.uuid4().hex))
        session.commit()
        rows = [session.get(Gate, gate_id) for gate_id in ids]
        batched = console_gate_views(session, rows, NOW_MS)
        one_by_one = [console_gate_view(gate, NOW_MS, session) for gate in rows]
    assert batched == one_by_one
    assert batched[0]["last_command"]["action"] == "release"
    assert [view["faces"] for view in batched] == [False, True, False]
