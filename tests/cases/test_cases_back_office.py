"""The back office over HTTP: positions and their administration, separation of duties at an
approval, linked cases, the counter's crossing, the home page of work, overdue notices and the
outgoing adapters, the calendar's holidays."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from cases_support import NOW_MS, TRAVELER, act_as, count, feed, log_in, make_user, new_gate
from sqlalchemy import select

from central.cases import notify, service
from central.cases.models import Case, CaseLink, GatewayMessage, Notification, PositionHolder, WatchlistProposal
from central.models import AuditEntry, Crossing
from central.services.audit import Actor
from central.watchlists.models import WatchlistEntryRow
from protocol import GateEvent


def _post(client, token, url, **form):
    return client.post(url, data={"csrf_token": token, **form})


def _case(database, case_id: int) -> Case:
    with database.session() as session:
        return session.get(Case, case_id)


def _open(client, token, workflow: str, **form) -> int:
    response = _post(client, token, "/cases/new", workflow=workflow, **form)
    assert response.status_code == 302, response.data[:600]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _step(client, token, case_id: int, step: str, **form) -> None:
    response = _post(client, token, f"/cases/{case_id}/steps/{step}", **form)
    assert response.status_code == 302, (step, response.status_code, response.data[-1500:])


def test_a_new_account_starts_with_its_roles_positions_and_the_admin_assigns_the_rest(client, database) -> None:
    officer = make_user(database, "officer")
    clerk = make_user(database, "backoffice")
    with database.session() as session:
        held = {u: sorted(session.scalars(select(PositionHolder.position).where(PositionHolder.user_id == i)))
                for u, i in ((officer.username, officer.id), (clerk.username, clerk.id))}
    assert held == {officer.username: ["petugas_tpi"], clerk.username: []}
    token = act_as(client, database, "admin")
    page = client.get("/work/admin").data.decode()
    assert clerk.username in page and "Travel document officer" in page and 'id="add-holiday"' in page
    response = client.post(f"/work/admin/positions/{clerk.username}",
                           data={"csrf_token": token, "position": ["petugas_dokjal", "kasi_dokjal"], "email": "c@x.id"})
    assert response.status_code == 302
    refused = client.post(f"/work/admin/positions/{clerk.username}", data={"csrf_token": token, "position": ["airline"]})
    assert refused.status_code == 302
    with database.session() as session:
        from central.cases.positions import positions_of

        assert positions_of(session, clerk.username) == {"petugas_dokjal", "kasi_dokjal"}  # the outside party was refused
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "positions_changed"))
        assert entry.details == {"added": ["petugas_dokjal", "kasi_dokjal"], "removed": []}
    act_as(client, database, "backoffice")
    assert client.get("/work/admin").status_code == 403


def test_a_stay_permit_extension_endorsed_by_someone_else_than_who_registered_it(client, database, clock) -> None:
    clerk_user = make_user(database, "backoffice", ("petugas_intalkim", "bendahara", "petugas_tik",
                                                    "petugas_inteldakim", "kepala_kantor"))
    clerk = log_in(client, clerk_user)
    case_id = _open(client, clerk, "doc-02-itk-extension", applicant_name="JOHN SMITH", applicant_phone="+6281100",
                    applicant_language="en")
    for step, form in [("receive", {}), ("enter", {}), ("payment", {"payment_reference": "PNBP-1"}), ("scan", {}),
                       ("validate", {}), ("watchlist", {"answer": "clear"}), ("sponsor", {"answer": "in_order"}),
                       ("biometrics", {}), ("register", {"registration_number": "REG-1"})]:
        clock.now_s += 60
        _step(client, clerk, case_id, step, **form)
    # The same person, though holding kepala_kantor, may not endorse what they registered.
    page = client.get(f"/cases/{case_id}").data.decode()
    assert "You did the step this one approves" in page
    refused = _post(client, clerk, f"/cases/{case_id}/steps/endorse", answer="endorse")
    assert refused.status_code == 403 and _case(database, case_id).current_step == "endorse"
    head = act_as(client, database, "backoffice", ("kepala_kantor",))
    _step(client, head, case_id, "endorse", answer="endorse")
    with database.session() as session:
        [message] = session.scalars(select(GatewayMessage))
    assert message.status == "queued" and "ready to collect" in message.text and message.address == "+6281100"
    clerk = log_in(client, clerk_user)
    for step, form in [("hand_over", {"collected_by": "JOHN SMITH"}), ("scan_copy", {}), ("archive", {})]:
        _step(client, clerk, case_id, step, **form)
    case = _case(database, case_id)
    assert case.status == "closed" and case.outcome == "ITK extended, document handed over"
    assert case.reference.startswith("ITK-")


def test_a_detention_leads_to_a_deportation_and_its_proposed_entry_ban(client, database) -> None:
    staff = act_as(client, database, "backoffice", ("kabid_inteldakim", "petugas_inteldakim", "kasi_penindakan"))
    detention = _open(client, staff, "int-02-detention", detainee_name="JOHN DOE", detainee_nationality="GBR",
                      detainee_document_number="123456789")
    assert b"follow-int-04-deportation" in client.get(f"/cases/{detention}").data
    response = _post(client, staff, f"/cases/{detention}/follow-ups/int-04-deportation")
    assert response.status_code == 302
    deportation = int(response.headers["Location"].rsplit("/", 1)[1])
    with database.session() as session:
        links = [(link.case_id, link.kind, link.target) for link in session.scalars(select(CaseLink))]
    assert (detention, "case", str(deportation)) in links and (deportation, "case", str(detention)) in links
    assert _case(database, deportation).context["detainee_name"] == "JOHN DOE"
    # The drafts go up the chain, each checked by someone other than its author.
    _step(client, staff, deportation, "draft", flight="GA 88")
    refused = _post(client, staff, f"/cases/{deportation}/steps/check_section", answer="correct")
    assert refused.status_code == 403
    for positions, step, form in [(("kasi_penindakan",), "check_section", {"answer": "correct"}),
                                  (("kabid_inteldakim",), "check_division", {"answer": "correct"}),
                                  (("kepala_kantor",), "approve", {"answer": "approve"})]:
        _step(client, act_as(client, database, "backoffice", positions), deportation, step, **form)
    staff = act_as(client, database, "backoffice", ("petugas_inteldakim",))
    for step, form in [("release", {"release_warrant_reference": "W-1"}), ("escort", {}), ("boarding", {"flight": "GA 88"}),
                       ("prepare_report", {"summary": "Deported on GA 88."}), ("submit_report", {}),
                       ("completed", {"answer": "propose_ban", "reason": "overstay and violence", "ban_years": "6"})]:
        _step(client, staff, deportation, step, **form)
    assert _case(database, deportation).outcome == "deported; entry ban proposed"
    with database.session() as session:
        [proposal] = session.scalars(select(WatchlistProposal))
        assert proposal.status == "proposed" and proposal.data["surname"] == "JOHN DOE"
        assert session.scalar(select(WatchlistEntryRow)) is None  # nothing reaches the gates yet
    head = act_as(client, database, "backoffice", ("kabid_inteldakim",))
    assert b"Proposed entry bans" in client.get("/work").data
    decided = _post(client, head, f"/work/proposals/{proposal.id}", decision="approve", surname="DOE", given_names="JOHN")
    assert decided.status_code == 302
    with database.session() as session:
        entry = session.scalar(select(WatchlistEntryRow))
        assert (entry.list_name, entry.surname, entry.document_numbers) == ("penangkalan", "DOE", ["123456789"])
        assert session.get(WatchlistProposal, proposal.id).entry_id == entry.entry_id


def _referral_case(database) -> int:
    gate = new_gate(database)
    feed(database, gate.event(GateEvent(event="referral_recorded", transaction_id="tx-42", reason="face_mismatch",
                                        traveler=TRAVELER)))
    with database.session() as session:
        return session.scalar(select(Case.id))


def test_the_counter_mark_after_a_referral_needs_the_flight_and_records_the_crossing(client, database, clock) -> None:
    """Issue 19 item 9: counter steps completed with nothing entered, and 'crossing recorded at
    the counter' recorded no crossing."""
    case_id = _referral_case(database)
    token = act_as(client, database, "officer")
    page = client.get(f"/cases/{case_id}").data.decode()
    assert "OVERDUE" not in page  # the clock waits for the traveller
    clock.now_s += 120
    _step(client, token, case_id, "arrive")
    _step(client, token, case_id, "examine", answer="clear")
    _step(client, token, case_id, "interview", answer="in_order")
    page = client.get(f"/cases/{case_id}").data.decode()
    assert 'name="flight"' in page and "required" in page.split('name="flight"')[1][:30]
    empty = _post(client, token, f"/cases/{case_id}/steps/finish")
    assert empty.status_code == 400 and b"needs flight" in empty.data
    assert count(database, Crossing) == 0
    _step(client, token, case_id, "finish", flight="GA 404")
    case = _case(database, case_id)
    assert case.outcome == "crossing recorded at the counter"
    with database.session() as session:
        [crossing] = session.scalars(select(Crossing))
        assert (crossing.transaction_id, crossing.document_number, crossing.recorded_by) == (
            "tx-42", TRAVELER.document_number, case.state["history"][-1]["actor"])
        [link] = session.scalars(select(CaseLink).where(CaseLink.kind == "crossing"))
        assert link.target == str(crossing.id)


def test_a_watchlist_hit_at_the_counter_opens_the_linked_cekal_case(client, database) -> None:
    case_id = _referral_case(database)
    token = act_as(client, database, "officer")
    _step(client, token, case_id, "arrive")
    _step(client, token, case_id, "examine", answer="listed")
    _step(client, token, case_id, "cekal")
    with database.session() as session:
        cekal = session.scalar(select(Case).where(Case.workflow_id == "tpi-03-cekal"))
    assert cekal.current_step == "report" and cekal.context["traveler"]["document_number"] == TRAVELER.document_number
    assert cekal.context["linked_from"]["case_id"] == case_id


def test_home_page_of_work_groups_my_steps_and_offers_my_sops(client, database, clock) -> None:
    supervisor = make_user(database, "supervisor")
    with database.session() as session:
        overdue = service.open_case(session, "tpi-05-refusal", now_ms=NOW_MS - 3_600_000,
                                    actor=Actor(supervisor.username, "supervisor"), start_at="interview")
        fresh = service.open_case(session, "tpi-05-refusal", now_ms=NOW_MS - 14 * 60_000,
                                  actor=Actor(supervisor.username, "supervisor"), start_at="interview")
        later = service.open_case(session, "tpi-06-postponement", now_ms=NOW_MS,  # a day to write the report
                                  actor=Actor(supervisor.username, "supervisor"), start_at="report")
        waiting = service.open_case(session, "tpi-05-refusal", now_ms=NOW_MS, actor=Actor(supervisor.username, "supervisor"),
                                    start_at="return_now")
        not_mine = service.open_case(session, "tpi-05-refusal", now_ms=NOW_MS, actor=Actor(supervisor.username, "supervisor"),
                                     start_at="decide")
        session.commit()
    act_as(client, database, "supervisor")
    page = client.get("/work").data.decode()

    def group(name: str) -> str:
        return page.split(f'id="group-{name}"')[1].split('<h2')[0]

    assert f'data-case="{overdue.id}"' in group("overdue")
    assert f'data-case="{fresh.id}"' in group("due_soon") and f'data-case="{later.id}"' in group("open")
    assert f'data-case="{waiting.id}"' in group("waiting")
    assert f'data-case="{not_mine.id}"' not in page  # the Kasi Pemeriksaan's decision
    assert 'id="start-tpi-03-cekal"' in page and 'id="start-doc-01-passport-issuance-mpaspor"' not in page
    assert 'id="nav-work"' in page


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[notify.OutgoingMessage] = []

    def send(self, message: notify.OutgoingMessage) -> notify.SendResult:
        self.sent.append(message)
        return notify.SendResult("sent", provider_id=f"p-{len(self.sent)}")


def test_an_overdue_step_notifies_the_holders_of_its_position_once(client, database) -> None:
    kasi = make_user(database, "supervisor", ("kasi_pemeriksaan",))
    other = make_user(database, "officer")
    from central.cases.positions import set_contact

    with database.session() as session:
        set_contact(session, kasi.username, email="kasi@imigrasi.go.id", phone="+62811", actor=Actor("admin", "admin"))
        row = service.open_case(session, "tpi-05-refusal", now_ms=NOW_MS, actor=Actor("gate:x", None), start_at="decide")
        session.commit()
        assert notify.sweep_overdue(session, NOW_MS + 14 * 60_000) == 0  # 15 minutes: not yet
        assert notify.sweep_overdue(session, NOW_MS + 16 * 60_000) == 1
        session.commit()
        assert notify.sweep_overdue(session, NOW_MS + 30 * 60_000) == 0  # once per step
        [notice] = session.scalars(select(Notification))
        assert (notice.user_id, notice.position, notice.case_id) == (kasi.id, "kasi_pemeriksaan", row.id)
        recorder = _Recorder()
        assert notify.dispatch(session, recorder) == 2
        session.commit()
        assert sorted(m.channel for m in recorder.sent) == ["email", "whatsapp"]
        assert {m.status for m in session.scalars(select(GatewayMessage))} == {"sent"}
    assert other.id != kasi.id
    act_as(client, database, "supervisor", ("kasi_pemeriksaan",))
    # A new holder of the position was not notified of what happened before they held it: no badge.
    assert 'id="work-badge"' not in client.get("/work").data.decode()
    token = log_in(client, kasi)
    page = client.get("/work").data.decode()
    assert 'id="work-badge">1<' in page and "Overdue: case" in page
    _post(client, token, "/work/notifications/read")
    assert 'id="work-badge"' not in client.get("/work").data.decode()


class _Provider(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Provider.received.append({**body, "auth": self.headers.get("Authorization")})
        reply = json.dumps({"id": "wa-777"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args) -> None:
        pass


def test_the_webhook_adapter_posts_to_the_provider_and_keeps_its_message_id() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sender = notify.WebhookSender(f"http://127.0.0.1:{server.server_port}/send", "tok", timeout_s=5)
        result = sender.send(notify.OutgoingMessage("whatsapp", "+62811", "Paspor Anda sudah jadi"))
    finally:
        server.shutdown()
        thread.join(5)
    assert (result.status, result.provider_id) == ("sent", "wa-777")
    assert _Provider.received[-1] == {"to": "+62811", "channel": "whatsapp", "text": "Paspor Anda sudah jadi",
                                      "auth": "Bearer tok"}
    down = notify.WebhookSender("http://127.0.0.1:9/send", None, timeout_s=1).send(
        notify.OutgoingMessage("sms", "+62811", "x"))
    assert down.status == "failed" and "provider" in down.error
    assert notify.SmtpSender("127.0.0.1", 9, "a@b", timeout_s=1).send(
        notify.OutgoingMessage("email", "x@y", "t")).status == "failed"


def test_holidays_are_configured_by_the_admin_and_move_working_day_deadlines(client, database) -> None:
    token = act_as(client, database, "admin")
    assert _post(client, token, "/work/admin/holidays", day="2026-08-17", name="Hari Kemerdekaan").status_code == 302
    assert _post(client, token, "/work/admin/holidays", day="not-a-day", name="x").status_code == 302
    assert "Hari Kemerdekaan" in client.get("/work/admin").data.decode()
    with database.session() as session:
        calendar = service.calendar_for(session)
        from datetime import date

        assert calendar.holidays == {date(2026, 8, 17)}
    assert _post(client, token, "/work/admin/holidays/2026-08-17/delete").status_code == 302
    with database.session() as session:
        assert service.calendar_for(session).holidays == frozenset()


def test_every_back_office_string_has_an_indonesian_translation_and_pages_use_it(client, database) -> None:
    import re
    from pathlib import Path

    import central.cases
    from central.cases.i18n_back_office import INDONESIAN as BACK_OFFICE
    from central.i18n_table import INDONESIAN

    templates = Path(central.cases.__file__).with_name("templates")
    used = {s for path in templates.rglob("*.html") for s in re.findall(r'_\("([^"]+)"\)', path.read_text())}
    assert sorted(s for s in used if s not in INDONESIAN and s not in BACK_OFFICE) == []
    token = act_as(client, database, "supervisor")
    client.post("/lang", data={"csrf_token": token, "lang": "id", "next": "/work"})
    page = client.get("/work").data.decode()
    assert "Pekerjaan saya" in page and "Mulai SOP" in page and "Jabatan Anda:" in page
