"""tpi-07 at the counter: the fee comes from the configured tariff, the exit mark only after payment."""

from __future__ import annotations

import json

import pytest
from cases_support import Clock, act_as, make_app
from sqlalchemy import select

from central.cases.errors import CaseError
from central.cases.models import Case
from central.cases.tariff import load_tariff
from central.workflows.fees import OverstayTariff


@pytest.fixture
def tariff_app(database, sqlite_url, clock: Clock, tmp_path, monkeypatch):
    path = tmp_path / "tariff.json"
    path.write_text(
        json.dumps({"idr_per_day": 250_000, "source": "Test tariff, PP 00/2099"})
    )
    monkeypatch.setenv("AUTOGATE_CASES_TARIFF_FILE", str(path))
    return make_app(database, sqlite_url, clock)


def test_overstay_fee_from_the_tariff_file_and_exit_mark_after_payment(
    tariff_app, database
) -> None:
    client = tariff_app.test_client()
    token = act_as(client, database, "officer")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": token,
            "workflow": "tpi-07-overstay",
            "document_number": "C9876543",
            "surname": "SMITH",
            "given_names": "JOHN",
            "nationality": "GBR",
            "permit_expiry": "2026-03-01",
            "departure": "2026-03-11",
        },
    )
    assert response.status_code == 302
    with database.session() as session:
        case = session.scalar(select(Case))
    assert case.context["overstay"]["overstay_days"] == 10
    assert case.context["overstay"]["fee_idr"] == 2_500_000
    assert case.context["overstay"]["tariff_source"] == "Test tariff, PP 00/2099"

    def post(step: str, **form):
        return client.post(
            f"/cases/{case.id}/steps/{step}", data={"csrf_token": token, **form}
        )

    assert post("receive").status_code == 302
    assert post("check", answer="overstayed").status_code == 302
    assert post("refer").status_code == 302
    # The exit mark (step 8) is not due before the payment: the engine follows the SOP's order.
    early = post("exit_stamp")
    assert early.status_code == 400 and b"not due" in early.data
    # Steps 4-6 are the designated officer's (the supervisor), not the counter officer's.
    assert post("compute").status_code == 403
    token = act_as(client, database, "supervisor")
    # Days and fee are the assessment's, whatever is typed; the answer must agree with the days.
    assert post("compute", answer="over_60_days").status_code == 400
    assert post("compute", overstay_days="1", fee_idr="1").status_code == 302
    assert post("payment").status_code == 400  # needs the payment reference
    assert post("payment", payment_reference="PNBP-0001").status_code == 302
    proof = client.get(f"/cases/{case.id}/documents/payment_proof").data.decode()
    assert "2500000" in proof and "PNBP-0001" in proof and "10" in proof
    assert post("give_proof").status_code == 302
    token = act_as(client, database, "officer")
    for step in ("scan_crossing", "exit_stamp"):
        assert post(step).status_code == 302
    # Billing is the administration's (Tata Usaha): the counter officer is refused, TU does it.
    assert post("billing", billing_code="820260311001").status_code == 403
    token = act_as(client, database, "backoffice", ("tata_usaha",))
    assert post("billing", billing_code="820260311001").status_code == 302


def test_default_tariff_cites_its_regulation(monkeypatch) -> None:
    monkeypatch.delenv("AUTOGATE_CASES_TARIFF_FILE", raising=False)
    tariff = load_tariff()
    assert tariff == OverstayTariff() and "Peraturan Pemerintah" in tariff.source


def test_a_bad_tariff_file_is_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"idr_per_day": -5}')
    with pytest.raises(CaseError, match="bad.json"):
        load_tariff(path)


def test_overstay_without_permit_expiry_is_not_opened(client, database) -> None:
    token = act_as(client, database, "officer")
    response = client.post(
        "/cases/new", data={"csrf_token": token, "workflow": "tpi-07-overstay"}
    )
    assert (
        response.status_code == 400 and b"permit expiry must be a date" in response.data
    )


def test_cctv_operator_may_open_only_cctv_alarm_cases(client, database) -> None:
    token = act_as(client, database, "cctv_operator")
    refused = client.post(
        "/cases/new", data={"csrf_token": token, "workflow": "tpi-05-refusal"}
    )
    assert refused.status_code == 403
    opened = client.post(
        "/cases/new",
        data={"csrf_token": token, "workflow": "it-05-cctv-alarm", "gate_id": "cctv-3"},
    )
    assert opened.status_code == 302
    with database.session() as session:
        assert [c.workflow_id for c in session.scalars(select(Case))] == [
            "it-05-cctv-alarm"
        ]


def test_a_back_office_sop_is_opened_by_its_positions_only(client, database) -> None:
    """A supervisor holds checkpoint positions: a stay-permit application is not theirs to open."""
    token = act_as(client, database, "supervisor")
    response = client.post(
        "/cases/new", data={"csrf_token": token, "workflow": "doc-02-itk-extension", "applicant_name": "X"}
    )
    assert response.status_code == 403 and b"not an SOP your positions may open" in response.data
    token = act_as(client, database, "backoffice", ("petugas_intalkim",))
    opened = client.post(
        "/cases/new", data={"csrf_token": token, "workflow": "doc-02-itk-extension", "applicant_name": "JOHN SMITH"}
    )
    assert opened.status_code == 302
    with database.session() as session:
        case = session.scalar(select(Case))
    assert case.workflow_id == "doc-02-itk-extension" and case.reference.startswith("ITK-")
