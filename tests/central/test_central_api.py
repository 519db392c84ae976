"""The JSON API and the console's data: search, stats, alert acknowledgement, signed commands."""

from __future__ import annotations

from datetime import date

import pytest
from central_support import (
    CENTRAL_KEY,
    NOW_MS,
    NOW_S,
    TRAVELER,
    FakeGate,
    act_as,
    crossing,
    demo_settings,
    gate_event,
    ingest,
    register,
)
from flask.testing import FlaskClient
from sqlalchemy import select

from central.app import create_app
from central.models import Alert, AuditEntry, CommandRecord
from central.roles import Role
from protocol import Command, GateState, TravelerDocument, open_envelope
from protocol.envelope import CENTRAL_SENDER
from protocol.topics import gate_commands

OTHER = TravelerDocument(
    document_number="B7654321", document_type="P", issuing_state="IDN", expiry_date=date(2031, 2, 2),
    given_names="BUDI", surname="SANTOSO", sex="M", birth_date=date(1985, 1, 1), nationality="IDN",
)
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def hall(database):
    """Two gates with crossings on two days, a held traveller and a gate in a known state."""
    a, b = FakeGate("gate-a"), FakeGate("gate-b")
    register(database, a)
    register(database, b, direction="arrival")
    ingest(
        database,
        a.event(crossing("tx-1", TRAVELER, NOW_MS - DAY_MS)),
        a.event(crossing("tx-2", OTHER, NOW_MS)),
        b.event(crossing("tx-3", TRAVELER, NOW_MS)),
        a.event(gate_event("alarm_raised", reason="cekal_identik", transaction_id="tx-4", traveler=OTHER)),
        a.state(GateState(state="held", entry_door="locked", exit_door="locked", since_ms=NOW_MS - 65_000,
                          direction="departure", transaction_id="tx-4", traveler=OTHER)),
    )
    return a, b


def _ids(response) -> list[str]:
    return sorted(c["transaction_id"] for c in response.get_json()["crossings"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["tx-1", "tx-2", "tx-3"]),
        ("?document_number=x1234567", ["tx-1", "tx-3"]),
        ("?name=santo", ["tx-2"]),
        ("?name=SITI", ["tx-1", "tx-3"]),
        ("?gate=gate-b", ["tx-3"]),
        (f"?date_from={date.fromtimestamp(NOW_S).isoformat()}", ["tx-2", "tx-3"]),
        (f"?date_to={date.fromtimestamp(NOW_S - 86400).isoformat()}", ["tx-1"]),
        ("?gate=gate-a&name=siti", ["tx-1"]),
    ],
)
def test_crossing_search(client: FlaskClient, database, hall, query: str, expected: list[str]) -> None:
    act_as(client, database, Role.OFFICER)
    response = client.get(f"/api/v1/crossings{query}")
    assert response.status_code == 200
    assert _ids(response) == expected


@pytest.mark.parametrize("query", ["?limit=0", "?limit=100000", "?date_from=yesterday", "?colour=red", "?name=a"])
def test_bad_search_parameters_are_a_400(client: FlaskClient, database, query: str) -> None:
    act_as(client, database, Role.OFFICER)
    assert client.get(f"/api/v1/crossings{query}").status_code == 400


def test_stats_for_the_demo(client: FlaskClient, database, hall) -> None:
    act_as(client, database, Role.REPORT_ONLY)
    stats = client.get("/api/v1/stats").get_json()
    assert stats["gates"] == 2 and stats["crossings"] == 3 and stats["alerts"] == 1
    assert stats["crossings_per_gate"] == {"gate-a": 2, "gate-b": 1}


def test_console_live_shows_state_doors_time_and_traveller(client: FlaskClient, database, hall) -> None:
    act_as(client, database, Role.SUPERVISOR)
    assert client.get("/console").status_code == 200
    live = client.get("/console/live").get_json()
    gate_a = next(g for g in live["gates"] if g["id"] == "gate-a")
    assert (gate_a["state"], gate_a["entry_door"], gate_a["exit_door"]) == ("held", "locked", "locked")
    assert gate_a["time_in_state_s"] == 65
    assert gate_a["traveler"] == {"name": "BUDI SANTOSO", "document_number": "B7654321", "nationality": "IDN"}
    [alert] = live["alerts"]
    assert alert["kind"] == "watchlist_hold" and alert["details"]["traveler"]["document_number"] == "B7654321"
    assert len(live["crossings"]) == 3


def test_unacknowledged_alerts_come_first(client: FlaskClient, database, hall) -> None:
    a, _ = hall
    ingest(database, a.event(gate_event("alarm_raised", reason="tailgating", transaction_id="tx-5")))
    token = act_as(client, database, Role.SUPERVISOR)
    first = client.get("/api/v1/alerts").get_json()["alerts"]
    assert [x["kind"] for x in first] == ["watchlist_hold", "tailgating"]  # critical before high
    client.post(f"/api/v1/alerts/{first[0]['id']}/ack", json={}, headers={"X-CSRF-Token": token})
    after = client.get("/api/v1/alerts").get_json()["alerts"]
    assert [x["kind"] for x in after] == ["tailgating", "watchlist_hold"]


def test_acknowledging_an_alert_is_recorded_and_audited(client: FlaskClient, database, hall) -> None:
    token = act_as(client, database, Role.SUPERVISOR)
    [alert] = client.get("/api/v1/alerts?unacknowledged=true").get_json()["alerts"]
    response = client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "officers on the way"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.get_json()["acknowledged_by"].startswith("supervisor-")
    assert client.get("/api/v1/alerts?unacknowledged=true").get_json()["alerts"] == []
    with database.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert_acknowledge"))
    assert entry.role == "supervisor" and entry.target == f"alert:{alert['id']}"
    assert entry.details["note"] == "officers on the way"


def test_console_form_acknowledges_with_the_form_token(client: FlaskClient, database, hall) -> None:
    token = act_as(client, database, Role.ADMIN)
    with database.session() as session:
        alert_id = session.scalar(select(Alert.id))
    assert client.post(f"/console/alerts/{alert_id}/ack", data={"csrf_token": token}).status_code == 302
    with database.session() as session:
        assert session.get(Alert, alert_id).acknowledged_at is not None


def test_unknown_alert_is_a_404(client: FlaskClient, database) -> None:
    token = act_as(client, database, Role.SUPERVISOR)
    assert client.post("/api/v1/alerts/999/ack", json={}, headers={"X-CSRF-Token": token}).status_code == 404


def test_command_is_signed_recorded_audited_and_published(client: FlaskClient, database, hall, publisher) -> None:
    token = act_as(client, database, Role.SUPERVISOR)
    response = client.post(
        "/api/v1/commands",
        json={"gate_id": "gate-a", "action": "release_held", "reason": "officers secured the traveller", "transaction_id": "tx-4"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "sent"
    [(topic, payload)] = publisher.sent
    assert topic == gate_commands("gate-a")
    # What the gate does: verify with central's public key only.
    envelope = open_envelope(payload, keys={CENTRAL_SENDER: CENTRAL_KEY.public}, now_ms=NOW_MS, expected_sender=CENTRAL_SENDER)
    command = envelope.payload
    assert isinstance(command, Command)
    assert (command.gate_id, command.action.value, command.transaction_id) == ("gate-a", "release_held", "tx-4")
    assert command.command_id == body["command_id"]
    assert command.expires_at_ms == NOW_MS + 30_000
    with database.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "command"))
        assert entry.details["command_id"] == body["command_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"gate_id": "gate-a", "action": "release_held"},
        {"gate_id": "gate-a", "action": "release_held", "reason": "  "},
        {"gate_id": "gate-a", "action": "open_everything", "reason": "because"},
        {"gate_id": "gate-a", "action": "reset", "reason": "because", "extra": 1},
    ],
    ids=["no-reason", "blank-reason", "unknown-action", "extra-field"],
)
def test_command_needs_a_reason_and_a_known_action(client: FlaskClient, database, hall, publisher, body) -> None:
    token = act_as(client, database, Role.SUPERVISOR)
    assert client.post("/api/v1/commands", json=body, headers={"X-CSRF-Token": token}).status_code == 400
    assert publisher.sent == []


def test_command_to_unknown_gate_is_a_404(client: FlaskClient, database, publisher) -> None:
    token = act_as(client, database, Role.SUPERVISOR)
    response = client.post("/api/v1/commands", json={"gate_id": "nope", "action": "reset", "reason": "test reset"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 404


def test_command_the_broker_refuses_is_marked_not_sent(client: FlaskClient, database, hall, publisher) -> None:
    publisher.fail = True
    token = act_as(client, database, Role.SUPERVISOR)
    response = client.post("/api/v1/commands", json={"gate_id": "gate-a", "action": "reset", "reason": "stuck gate"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 503
    with database.session() as session:
        [record] = session.scalars(select(CommandRecord))
        assert record.status == "not_sent"
        # Audited even though it never left: the attempt is an officer action.
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "command")) is not None


def test_healthz_is_public_and_shows_counts_only(client: FlaskClient, metrics) -> None:
    metrics.inc("rejected_bad_signature")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok" and body["ingest_counters"] == {"rejected_bad_signature": 1}


def test_healthz_reports_a_disconnected_ingest(tmp_path, database) -> None:
    app = create_app(demo_settings(f"sqlite:///{tmp_path / 'central.db'}"), database=database,
                     central_key=CENTRAL_KEY, ingest_health=lambda: False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["ingest"] == "disconnected"


def test_metrics_for_supervisors(client: FlaskClient, database, metrics) -> None:
    metrics.inc("stored", 3)
    act_as(client, database, Role.SUPERVISOR)
    assert client.get("/api/v1/metrics").get_json() == {"ingest": {"stored": 3}}


def test_audit_log_for_admins(client: FlaskClient, database, hall) -> None:
    token = act_as(client, database, Role.SUPERVISOR)
    client.post("/api/v1/alerts/1/ack", json={}, headers={"X-CSRF-Token": token})
    admin = client.application.test_client()
    act_as(admin, database, Role.ADMIN)
    entries = admin.get("/api/v1/audit").get_json()["entries"]
    # The hall's hold also opened a cekal case (audited by the system); the officer's act is here too.
    officer_actions = [e["action"] for e in entries if e["action"] != "case_opened"]
    assert officer_actions == ["alert_acknowledge"]


def test_console_page_has_no_inline_script_and_its_assets_are_served(client: FlaskClient, database) -> None:
    """The CSP forbids inline script; the console must work with its static file only."""
    act_as(client, database, Role.SUPERVISOR)
    page = client.get("/console").get_data(as_text=True)
    assert "<script>" not in page and 'src="/static/console.js"' in page
    assert 'data-can-command="yes"' in page
    assert client.get("/static/console.js").status_code == 200
    assert client.get("/static/console.css").status_code == 200


def test_command_while_the_broker_is_unreachable_is_not_queued(tmp_path, database, hall) -> None:
    """paho would queue the command and send it after a reconnect, after central answered 503."""
    from central.ingest.mqtt import IngestService

    settings = demo_settings(f"sqlite:///{tmp_path / 'central.db'}")
    service = IngestService(settings, database)  # never started: not connected
    app = create_app(settings, database=database, central_key=CENTRAL_KEY, publisher=service, clock=lambda: NOW_S)
    client = app.test_client()
    token = act_as(client, database, Role.SUPERVISOR)
    response = client.post("/api/v1/commands", json={"gate_id": "gate-a", "action": "reset", "reason": "stuck gate"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 503
