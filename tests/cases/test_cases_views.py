"""The cases pages over HTTP: the cekal WNI path end to end, roles, CSRF, documents, referrals."""

from __future__ import annotations

import re

import pytest
from cases_support import NOW_MS, TRAVELER, act_as, count, feed, hold_event, make_user, new_gate
from sqlalchemy import select

from central.cases import service
from central.cases.errors import CaseRefused
from central.cases.models import Case, CaseStepRecord
from central.models import AuditEntry
from central.services.audit import Actor
from protocol import GateEvent


def _open_hold(database) -> int:
    gate = new_gate(database)
    feed(database, gate.event(hold_event("tx-1")))
    with database.session() as session:
        return session.scalar(select(Case.id))


def _case(database, case_id: int) -> Case:
    with database.session() as session:
        return session.get(Case, case_id)


# The WNI branch of tpi-03 from the gate hold (step 5) to the memo to the Head of Office.
CEKAL_WNI = [
    ("report", None, {}),
    ("secure", None, {}),
    ("verify", "wni", {"agency_contacted": "KPK, by phone"}),
    ("wni_postpone", None, {"retained_document_number": "X1234567"}),
    ("coordinate", None, {}),
    ("hand_over", None, {"received_by": "AGUS (Inteldakim)", "agency": "Inteldakim"}),
    (
        "report_lk",
        None,
        {"chronology": "Held at gate; verified with KPK.", "findings": "identical"},
    ),
]


def test_supervisor_works_the_cekal_wni_path_to_the_end(
    client, database, clock
) -> None:
    case_id = _open_hold(database)
    token = act_as(client, database, "supervisor")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert (
        b"Cekal" in page.data
        and b"RAHAYU" in page.data
        and b"Report to the Head of Section" in page.data
    )
    for step_id, answer, data in CEKAL_WNI:
        clock.now_s += 60
        form = {"csrf_token": token, **data}
        if answer:
            form["answer"] = answer
        response = client.post(f"/cases/{case_id}/steps/{step_id}", data=form)
        assert response.status_code == 302, (step_id, response.data[:400])
    # Step 11 is the Head of Checkpoint Division's memo: the supervisor who wrote the LK is refused.
    refused = client.post(f"/cases/{case_id}/steps/memo_head", data={"csrf_token": token, "summary": "x"})
    assert refused.status_code == 403 and b"not-your-step" in refused.data
    token = act_as(client, database, "supervisor", ("kabid_tpi",))
    memo = client.post(f"/cases/{case_id}/steps/memo_head", data={"csrf_token": token, "summary": "Departure postponed."})
    assert memo.status_code == 302
    case = _case(database, case_id)
    assert case.status == "closed" and case.outcome == "departure postponed, travel document retained (STP)"
    page = client.get(f"/cases/{case_id}").data.decode()
    assert "closed: departure postponed" in page and "closed: closed" not in page  # issue 19 item 9
    assert count(database, CaseStepRecord, CaseStepRecord.case_id == case_id) == len(CEKAL_WNI) + 1
    assert count(
        database, AuditEntry, AuditEntry.action == "case_step_completed"
    ) == len(CEKAL_WNI) + 1
    with database.session() as session:
        steps = list(
            session.scalars(select(CaseStepRecord).order_by(CaseStepRecord.id))
        )
    assert [s.step_id for s in steps] == [s for s, _a, _d in CEKAL_WNI] + ["memo_head"]
    assert steps[-1].position == "kabid_tpi"
    assert steps[0].standard_s == 300 and steps[0].within_standard is True
    assert (
        steps[2].answer == "wni"
        and steps[2].standard_s is None
        and steps[2].within_standard is None
    )

    stp = client.get(f"/cases/{case_id}/documents/stp")
    assert stp.status_code == 200
    text = stp.data.decode()
    assert len(re.findall(r'<section class="copy"', text)) == 2  # STP in two copies
    assert (
        "Surat Tanda Penerimaan" in text
        and "X1234567" in text
        and "SITI RAHAYU" in text
    )
    # Printed in Indonesian with times in WIB, whatever the screen's language (issue 19 item 7).
    assert "lembar 2 dari 2" in text and "Nomor dokumen perjalanan" in text and "Ditahan oleh" in text
    assert " WIB" in text and " UTC" not in text
    assert not any(english in text for english in ("Traveller", "Record", "copy 2 of 2", "Holder", "Retained by"))
    lk = client.get(f"/cases/{case_id}/documents/lk").data.decode()
    assert "Laporan Kejadian" in lk and "Held at gate; verified with KPK." in lk
    assert len(re.findall(r'<section class="copy"', lk)) == 1
    bast = client.get(f"/cases/{case_id}/documents/bast").data.decode()
    assert "AGUS (Inteldakim)" in bast
    # A document the case never produced (WNA path) is not printable.
    assert client.get(f"/cases/{case_id}/documents/nonexistent").status_code == 404


def test_post_without_csrf_token_is_refused_and_changes_nothing(
    client, database
) -> None:
    case_id = _open_hold(database)
    act_as(client, database, "supervisor")
    assert client.post(f"/cases/{case_id}/steps/report", data={}).status_code == 403
    assert _case(database, case_id).current_step == "report"
    assert count(database, CaseStepRecord) == 0


def test_officer_may_not_do_a_supervisor_step(client, database) -> None:
    case_id = _open_hold(database)
    token = act_as(client, database, "officer")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and b"not-your-step" in page.data
    response = client.post(f"/cases/{case_id}/steps/report", data={"csrf_token": token})
    assert response.status_code == 403
    assert b"This step is for Designated immigration officer (shift supervisor)" in response.data
    assert _case(database, case_id).current_step == "report"
    # The API refuses the same act; the engine refuses it too when the view is bypassed.
    api = client.post(
        f"/api/v1/cases/{case_id}/steps/report",
        json={},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 403 and "petugas_tpi" in api.get_json()["message"]
    officer = make_user(database, "officer")
    with (
        database.session() as session,
        pytest.raises(CaseRefused, match="is for supervisor_tpi"),
    ):
        service.complete(
            session,
            case_id,
            actor=Actor(officer.username, "officer"),
            step_id="report",
            now_ms=NOW_MS,
        )


def test_missing_required_data_is_refused_with_the_field_named(
    client, database
) -> None:
    case_id = _open_hold(database)
    token = act_as(client, database, "supervisor")
    for step in ("report", "secure"):
        client.post(f"/cases/{case_id}/steps/{step}", data={"csrf_token": token})
    response = client.post(
        f"/cases/{case_id}/steps/verify", data={"csrf_token": token, "answer": "wni"}
    )
    assert response.status_code == 400 and b"needs agency_contacted" in response.data
    assert _case(database, case_id).current_step == "verify"


@pytest.mark.parametrize(
    ("role", "list_status", "detail_status"),
    [
        ("supervisor", 200, 200),
        ("officer", 200, 200),
        ("admin", 200, 200),
        ("backoffice", 200, 200),
        ("report_only", 200, 403),
        ("cctv_operator", 200, 404),  # cctv operators see it-05 cases only
    ],
)
def test_roles_on_the_pages(
    client, database, role: str, list_status: int, detail_status: int
) -> None:
    case_id = _open_hold(database)
    act_as(client, database, role)
    listing = client.get("/cases")
    assert listing.status_code == list_status
    assert (b"tpi-03-cekal" in listing.data.split(b'<table id="cases">')[1]) is (
        role != "cctv_operator"
    )
    assert client.get(f"/cases/{case_id}").status_code == detail_status


def test_not_logged_in_is_sent_to_login(client, database) -> None:
    assert client.get("/cases").status_code == 302
    assert client.get("/api/v1/cases").status_code == 401


def test_referral_case_shows_why_the_gate_refused(client, database) -> None:
    gate = new_gate(database)
    feed(
        database,
        gate.event(
            GateEvent(
                event="referral_recorded",
                transaction_id="tx-5",
                reason="fingerprint_mismatch",
                traveler=TRAVELER,
            )
        ),
    )
    act_as(client, database, "officer")
    listing = client.get("/cases").data
    assert b"fingerprint did not match" in listing
    with database.session() as session:
        case_id = session.scalar(select(Case.id))
    page = client.get(f"/cases/{case_id}").data.decode()
    assert (
        'id="why"' in page
        and "fingerprint did not match" in page
        and gate.gate_id in page
    )


def test_api_for_the_console_filters_by_gate_and_open(client, database, clock) -> None:
    case_id = _open_hold(database)
    gate_id = _case(database, case_id).gate_id
    act_as(client, database, "supervisor")
    clock.now_s += 301  # step 5 "report" has a 5-minute standard
    body = client.get(f"/api/v1/cases?gate={gate_id}&open=1").get_json()
    [view] = body["cases"]
    assert view["id"] == case_id and view["workflow_id"] == "tpi-03-cekal"
    assert view["clock"]["standard_s"] == 300 and view["clock"]["overdue"] is True
    assert (
        view["clock"]["overdue_s"] == 1
        and view["clock"]["due_at_ms"] == NOW_MS + 300_000
    )
    assert client.get("/api/v1/cases?gate=other-gate&open=1").get_json()["cases"] == []
    detail = client.get(f"/api/v1/cases/{case_id}").get_json()
    assert detail["context"]["reason"] == "cekal_identik" and detail["history"] == []
    page = client.get("/cases").data.decode()
    assert 'class="overdue' in page and "OVERDUE" in page


@pytest.mark.parametrize("body", [{"answer": {"x": 1}}, {"data": [1]}, [1, 2]])
def test_api_refuses_malformed_bodies(client, database, body) -> None:
    case_id = _open_hold(database)
    token = act_as(client, database, "supervisor")
    response = client.post(
        f"/api/v1/cases/{case_id}/steps/report",
        json=body,
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 400
    assert _case(database, case_id).current_step == "report"


def test_api_completes_a_step_and_unknown_cases_are_404(client, database) -> None:
    case_id = _open_hold(database)
    token = act_as(client, database, "supervisor")
    done = client.post(
        f"/api/v1/cases/{case_id}/steps/report",
        json={},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 200 and done.get_json()["current_step"] == "secure"
    wrong = client.post(
        f"/api/v1/cases/{case_id}/steps/report",
        json={},
        headers={"X-CSRF-Token": token},
    )
    assert wrong.status_code == 409 and "not due" in wrong.get_json()["message"]
    assert client.get("/api/v1/cases/999").status_code == 404
