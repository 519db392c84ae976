"""What the public reaches without a login: the status page, the SMS/WhatsApp webhook (it-06b)
answering a status query, and the digital receptionist (it-07) walked over HTTP to the operator."""

from __future__ import annotations

import json

import pytest
from cases_support import CENTRAL_KEY, NOW_MS, act_as, make_user
from sqlalchemy import select

from central.app import create_app
from central.cases import gateway, service
from central.cases.models import Case, GatewayMessage
from central.settings import CentralSettings
from central.services.audit import Actor

SECRET = b"provider-shared-secret-0123456789"


@pytest.fixture
def app(database, sqlite_url, clock, monkeypatch):
    monkeypatch.delenv("AUTOGATE_CASES_TARIFF_FILE", raising=False)
    settings = CentralSettings(demo_mode=True, database_url=sqlite_url, office={"gateway_secret": SECRET.decode()})
    return create_app(settings, database=database, central_key=CENTRAL_KEY, clock=clock)


def _passport_case(database, **context) -> Case:
    clerk = make_user(database, "backoffice", ("petugas_dokjal",))
    with database.session() as session:
        row = service.open_case(session, "doc-01-passport-issuance-mpaspor", now_ms=NOW_MS,
                                actor=Actor(clerk.username, "backoffice"),
                                context={"applicant_name": "SITI RAHAYU", **context})
        session.commit()
        return row


def test_the_status_page_answers_by_application_number_without_a_login(client, database) -> None:
    row = _passport_case(database)
    page = client.get(f"/status?reference={row.reference.lower()}").data.decode()
    assert row.reference in page and 'data-state="waiting_for_you"' in page and "SITI" not in page
    assert b'id="status-unknown"' in client.get("/status?reference=PASPOR-00000000").data


def test_a_stopped_application_does_not_tell_the_applicant_why() -> None:
    """The public status never says what a check found: a watchlist stop reads 'contact the office'."""
    registry = service.registry()
    definition = registry.get("doc-02-itk-extension")
    from central.workflows import CaseState

    state = CaseState(case_id="1", workflow_id=definition.id, workflow_version=definition.version, opened_at_ms=0,
                      status="closed", current_step=None, current_since_ms=0,
                      outcome="stopped: applicant on the watchlist (SOP Cekal)")
    status = gateway.public_status(definition, state, "ITK-ABCDEFGH")
    assert status.state == "closed" and "cekal" not in status.text_en.lower() and "watchlist" not in status.text_en.lower()


def _signed(client, path: str, body: dict, secret: bytes = SECRET):
    raw = json.dumps(body).encode()
    return client.post(path, data=raw, content_type="application/json",
                       headers={"X-Gateway-Signature": gateway.sign(secret, raw)})


def test_the_whatsapp_gateway_answers_a_status_query_and_logs_both_messages(client, database) -> None:
    row = _passport_case(database)
    reply = _signed(client, "/api/v1/gateway/messages",
                    {"from": "+628123", "text": f"cek {row.reference}", "channel": "whatsapp", "id": "wamid.1"})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["reply"].startswith(row.reference) and "Menunggu Anda" in body["reply"]
    english = _signed(client, "/api/v1/gateway/messages", {"from": "+628123", "text": "STATUS nothing"}).get_json()
    assert english["reply"].startswith("Send STATUS")
    with database.session() as session:
        messages = list(session.scalars(select(GatewayMessage).order_by(GatewayMessage.id)))
    assert [(m.direction, m.status) for m in messages] == [("in", "received"), ("out", "replied")] * 2
    assert messages[0].case_id == row.id and messages[0].provider_id == "wamid.1"
    receipt = _signed(client, "/api/v1/gateway/receipts", {"message_id": body["message_id"], "status": "delivered"})
    assert receipt.status_code == 200
    with database.session() as session:
        assert session.get(GatewayMessage, body["message_id"]).status == "delivered"


@pytest.mark.parametrize("headers, status", [({}, 401), ({"X-Gateway-Signature": "00" * 32}, 401)])
def test_an_unsigned_or_forged_webhook_call_is_refused(client, database, headers, status) -> None:
    response = client.post("/api/v1/gateway/messages", data=b'{"from": "x", "text": "CEK A"}',
                           content_type="application/json", headers=headers)
    assert response.status_code == status
    with database.session() as session:
        assert session.scalar(select(GatewayMessage)) is None


def test_the_webhook_is_closed_until_the_secret_is_configured(database, sqlite_url, clock) -> None:
    app = create_app(CentralSettings(demo_mode=True, database_url=sqlite_url), database=database,
                     central_key=CENTRAL_KEY, clock=clock)
    assert _signed(app.test_client(), "/api/v1/gateway/messages", {"from": "x", "text": "y"}).status_code == 503


def test_a_garbage_webhook_body_is_refused_with_a_clear_error(client) -> None:
    raw = b"not json"
    response = client.post("/api/v1/gateway/messages", data=raw, content_type="application/json",
                           headers={"X-Gateway-Signature": gateway.sign(SECRET, raw)})
    assert response.status_code == 400 and "JSON object" in response.get_json()["message"]


def _press(client, token, reference: str, key: str, **extra):
    return client.post(f"/receptionist/calls/{reference}/press", data={"csrf_token": token, "key": key, **extra})


def _call(client):
    client.get("/receptionist")  # the visitor's session gets its CSRF token from the page
    with client.session_transaction() as s:
        token = s["csrf_token"]
    response = client.post("/receptionist/calls", data={"csrf_token": token})
    assert response.status_code == 302
    return token, response.headers["Location"].rsplit("/", 1)[1]


def test_the_receptionist_informs_a_caller_who_needs_nothing_more(client, database, clock) -> None:
    token, reference = _call(client)
    page = client.get(f"/receptionist/calls/{reference}").data.decode()
    assert 'id="greeting"' in page and 'id="key-1"' in page
    clock.now_s += 15
    assert _press(client, token, reference, "1").status_code == 302
    page = client.get(f"/receptionist/calls/{reference}").data.decode()
    assert "M-Paspor" in page and 'id="key-yes"' in page
    assert _press(client, token, reference, "yes").status_code == 302
    with database.session() as session:
        case = session.scalar(select(Case))
    assert case.status == "closed" and case.outcome == "informed by the digital receptionist"
    assert [r["step_id"] for r in case.state["history"]] == ["connect", "greet", "choose", "inform", "fulfilled"]
    assert {r["position"] for r in case.state["history"]} == {"system"}


def test_a_caller_who_asks_for_the_operator_lands_on_customer_services_work(client, database, clock) -> None:
    token, reference = _call(client)
    _press(client, token, reference, "0")
    assert _press(client, token, reference, "0").status_code == 302  # choose the operator extension
    assert _press(client, token, reference, "", question="When is my passport ready?", phone="+62811").status_code == 302
    with database.session() as session:
        case = session.scalar(select(Case))
    assert case.current_step == "respond" and case.context["applicant_phone"] == "+62811"
    operator = act_as(client, database, "backoffice", ("customer_service",))
    assert f'data-case="{case.id}"' in client.get("/work").data.decode()
    response = client.post(f"/cases/{case.id}/steps/respond",
                           data={"csrf_token": operator, "answer_text": "Three working days after payment."})
    assert response.status_code == 302
    with database.session() as session:
        assert session.get(Case, case.id).outcome == "answered by the operator"


def test_the_receptionist_answers_json_and_refuses_a_key_it_does_not_offer(client) -> None:
    token, reference = _call(client)
    body = client.get(f"/receptionist/calls/{reference}", headers={"Accept": "application/json"}).get_json()
    assert body["step"] == "choose" and [o["key"] for o in body["options"]] == ["1", "2", "3", "4", "0"]
    assert _press(client, token, reference, "9").status_code == 400
    assert client.get("/receptionist/calls/CALL-00000000").status_code == 404
