"""Passport issuance (doc-01) over HTTP, with the real engines: the interview captures the face and
a fingerprint, the Head of Travel Document Section's endorsement makes them the enrolment, and a
gate fetching it (signed, as EnrolmentClient does) verifies the applicant and nobody else."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from cases_support import CENTRAL_KEY, log_in, make_user
from sqlalchemy import select

from central.app import create_app
from central.cases.models import Case, CaseBiometrics, CaseLink
from central.enrolments.models import Enrolment
from central.enrolments.views import init_app as init_enrolments
from central.services.gates import add_gate
from central.settings import CentralSettings
from protocol import generate_keypair

FACES = Path(__file__).resolve().parents[1] / "face" / "data"
GATE_ID = "gt-passport-1"


@pytest.fixture
def app(database, sqlite_url, clock, monkeypatch):
    monkeypatch.delenv("AUTOGATE_CASES_TARIFF_FILE", raising=False)
    return create_app(CentralSettings(demo_mode=True, database_url=sqlite_url), database=database,
                      central_key=CENTRAL_KEY, clock=clock, extensions=[init_enrolments])


def _png(image) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def _step(client, token, case_id: int, step: str, expect: int = 302, **form):
    response = client.post(f"/cases/{case_id}/steps/{step}", data={"csrf_token": token, **form})
    assert response.status_code == expect, (step, response.status_code, response.data[-1200:])
    return response


def test_a_passport_application_from_the_counter_to_the_enrolment_a_gate_verifies(client, database, clock) -> None:
    from simulators.fingerprints import impression

    officer = make_user(database, "backoffice", ("petugas_dokjal",))
    head = make_user(database, "backoffice", ("kasi_dokjal",))
    token = log_in(client, officer)
    assert b'id="start-doc-01-passport-issuance-mpaspor"' in client.get("/work").data
    opened = client.post("/cases/new", data={
        "csrf_token": token, "workflow": "doc-01-passport-issuance-mpaspor", "surname": "Obama", "given_names": "Barack",
        "sex": "M", "birth_date": "1961-08-04", "applicant_phone": "+62811555", "applicant_language": "id"})
    assert opened.status_code == 302
    case_id = int(opened.headers["Location"].rsplit("/", 1)[1])
    for step, form in [("check_in", {"answer": "registered", "mpaspor_booking": "MP-1"}), ("complete_docs", {}),
                       ("verify_docs", {"answer": "complete"})]:
        clock.now_s += 120
        _step(client, token, case_id, step, **form)
    # The interview cannot be approved before the biometrics are captured.
    refused = _step(client, token, case_id, "interview", expect=400, answer="approve")
    assert b"face and fingerprint captured first" in refused.data
    blurry = client.post(f"/cases/{case_id}/biometrics", data={"csrf_token": token, "face_image": (
        __import__("io").BytesIO(b"not an image"), "x.jpg")}, content_type="multipart/form-data")
    assert blurry.status_code == 400 and b"could not be read" in blurry.data
    capture = client.post(f"/cases/{case_id}/biometrics", content_type="multipart/form-data", data={
        "csrf_token": token,
        "face_image": (__import__("io").BytesIO((FACES / "obama.jpg").read_bytes()), "obama.jpg"),
        "fingerprint_image": (__import__("io").BytesIO(_png(impression("applicant-7", 0))), "finger.png")})
    assert capture.status_code == 302
    page = client.get(f"/cases/{case_id}").data.decode()
    from edge.face.engine import EMBEDDER_MODEL

    assert 'id="captured"' in page and EMBEDDER_MODEL in page  # the model gates verify with
    for step, form in [("interview", {"answer": "approve"}), ("payment", {"payment_reference": "POS-1"}),
                       ("allocate", {"passport_number": "E1234567", "expiry_date": "2036-08-04"}),
                       ("print", {"answer": "printed"}), ("register", {})]:
        clock.now_s += 120
        _step(client, token, case_id, step, **form)
    # The officer cannot endorse: the step is the Head of Travel Document Section's.
    wrong = _step(client, token, case_id, "endorse", expect=403, answer="endorse")
    assert b"Head of Travel Document Section" in wrong.data
    with database.session() as session:
        assert session.scalar(select(Enrolment)) is None
    token = log_in(client, head)
    _step(client, token, case_id, "endorse", answer="endorse")
    with database.session() as session:
        enrolment = session.scalar(select(Enrolment))
        assert (enrolment.document_number, enrolment.surname, enrolment.source) == ("E1234567", "OBAMA", "issuance")
        assert session.get(CaseBiometrics, case_id) is None  # the templates live in the enrolment only
        [link] = session.scalars(select(CaseLink).where(CaseLink.kind == "enrolment"))
        assert link.target == str(enrolment.id)
    token = log_in(client, officer)
    _step(client, token, case_id, "hand_to_post", courier_receipt="POS-RCPT-1")
    with database.session() as session:
        case = session.get(Case, case_id)
    assert case.outcome == "passport issued and handed to PT Pos Indonesia for delivery"

    # A gate asks central for the enrolment, signed, as it does for every traveller.
    from edge.face import FaceEngine
    from edge.fingerprint import FingerprintEngine
    from edge.gate.enrolment_client import EnrolmentClient

    gate_key = generate_keypair()
    with database.session() as session:
        add_gate(session, GATE_ID, public_key_b64=gate_key.public.b64, direction="departure")
        session.commit()
    web = client.application.test_client()

    def transport(url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        response = web.get(url.removeprefix("http://central.test"), headers=headers)
        return response.status_code, response.get_data()

    fetched = EnrolmentClient("http://central.test", gate_id=GATE_ID, gate_key=gate_key, central_key=CENTRAL_KEY.public,
                              transport=transport, clock=lambda: clock.now_s).fetch("E1234567", "IDN")
    assert fetched.status == "found"
    face, finger = FaceEngine.from_models(), FingerprintEngine.from_models()
    assert face.verify(cv2.imread(str(FACES / "obama2.jpg")), fetched.templates.face).match
    assert not face.verify(cv2.imread(str(FACES / "biden.jpg")), fetched.templates.face).match
    enrolled = finger.from_iso(fetched.templates.fingerprint_iso)
    assert finger.verify(finger.extract(impression("applicant-7", 3)), enrolled).match
    assert not finger.verify(finger.extract(impression("someone-else", 3)), enrolled).match
