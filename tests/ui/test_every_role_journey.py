"""Every login the demo prints, tried as its user would: log in from the home page and do the job by
following links (and the forms on the pages they lead to), never by typing a URL.

- supervisor: the console, acknowledging a hold's alarm; the hold's case from the cases list;
- back-office officer: a passport application (doc-01) started from the home page and taken through
  the capture of face and fingerprint to the endorsement by the head of section (another demo
  login), whose approval becomes the enrolment a gate then fetches;
- CCTV operator: the alarm queue;
- administrator: users, gates, the audit log, positions and holidays;
- counter officer: crossings, the watchlist, cases;
- report-only user: the daily recap, gate statistics, service standards.

For each role, every page of its bar is also opened by clicking. A page a role needs that no link
reaches, or one that answers an error (a status of 400 or more, or the error page), fails the test.
The accounts are the demo's own (``simulators.demo_accounts``), with their positions. One browser
session per role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest
import ui_harness as ui
from sqlalchemy import select

from central.cases.models import Case
from central.enrolments.models import Enrolment
from simulators.demo_accounts import DEMO_ACCOUNTS, create_accounts

FACES = Path(__file__).resolve().parents[1] / "face" / "data"
BY_ROLE = {"supervisor": "demo_supervisor", "cctv_operator": "demo_cctv_operator", "admin": "demo_admin",
           "officer": "demo_officer", "report_only": "demo_report_only"}
OFFICER, APPROVER = "demo_backoffice", "demo_kasi_backoffice"


@pytest.fixture(scope="module")
def hall(tmp_path_factory) -> Any:
    """One central for the module, with the demo's logins (all with the harness's password) and a
    departure gate whose traveller is held on a cekal match (the supervisor's alarm)."""
    ui.need_browser()
    with ui.running_central(tmp_path_factory.mktemp("central")) as central:
        with central.database.session() as session:
            create_accounts(session, lambda _username: ui.PASSWORD)
            session.commit()
        gate = central.add_gate("gt-journey")
        central.ingest(ui.idle_state(gate))
        for delivery in ui.hold_messages(gate, "tx-journey-1"):
            central.ingest(delivery)
        yield central


@pytest.fixture(scope="module")
def driver(tmp_path_factory, hall) -> Any:
    with ui.chromium(tmp_path_factory.mktemp("chromium")) as browser:
        yield browser


class User:
    """One person at the browser: arrives at the home page, logs in, and from then on only clicks."""

    def __init__(self, driver: Any, central: ui.Central) -> None:
        self.page = ui.Page(driver)
        self.driver, self.central = driver, central
        self.visited: list[str] = []

    # -- checks on every page

    def status(self) -> int:
        # The navigation's HTTP status as the browser received it (Chromium 109+).
        return int(self.page.js("const n = performance.getEntriesByType('navigation')[0];"
                                "return n && n.responseStatus ? n.responseStatus : 0;") or 0)

    def assert_ok(self, what: str) -> None:
        path = self.driver.current_url.removeprefix(self.central.url)
        status = self.status()
        problem = self.page.text("#error-text") or self.page.text("#refused") or self.page.text("main")[:300]
        assert status < 400 and not self.page.count("#error-status"), f"{what}: {path} answered {status}: {problem}"
        assert "Internal Server Error" not in self.page.text("body"), f"{what}: {path} failed"
        self.visited.append(path)

    # -- moving about

    def _navigate(self, act: Any) -> None:
        self.page.js("window.__journey = 1;")
        act()
        self.page.until(lambda: self.page.js("return window.__journey === undefined && document.readyState === 'complete';"))

    def log_in(self, username: str) -> None:
        self.driver.delete_all_cookies()
        self.driver.get(self.central.url + "/")  # the only address typed: the office's home page
        self.page.until(lambda: self.page.count("form.login") == 1)
        self.page.type("form.login [name=username]", username)
        self.page.type("form.login [name=password]", ui.PASSWORD)
        self._navigate(lambda: self.page.click("form.login button[type=submit]"))
        assert self.page.count("form.login") == 0, f"{username} could not log in: {self.page.text('main')[:300]}"
        self.assert_ok(f"{username}'s home page")

    def follow(self, css: str, what: str) -> None:
        """Click the link (or button) *css* on this page; the page it leads to must answer."""
        assert self.page.count(css), f"{what}: no link {css} on {self.driver.current_url}: {self.page.text('main')[:400]}"
        self._navigate(lambda: self.page.click(css))
        self.assert_ok(what)

    def nav(self, endpoint: str) -> None:
        self.follow(f'#nav a[data-endpoint="{endpoint}"]', endpoint)

    def every_page_of_the_bar(self) -> list[str]:
        endpoints = self.page.js("return [...document.querySelectorAll('#nav a')].map(a => a.dataset.endpoint);")
        for endpoint in endpoints:
            self.nav(endpoint)
        return endpoints

    # -- a case's page

    def step(self, answer: str | None = None, **fields: str) -> None:
        for name, value in fields.items():
            self.page.type(f"#step-form [name={name}]", value)
        self.follow(f"#answer-{answer}" if answer else "#done", f"step {answer or 'done'}")
        assert not self.page.count("#refused"), self.page.text("#refused")

    def case_id(self) -> int:
        return int(self.driver.current_url.rstrip("/").rsplit("/", 1)[1])


@pytest.fixture
def user(driver, hall) -> User:
    return User(driver, hall)


def test_the_demo_prints_a_login_for_every_role_and_an_approver(hall) -> None:
    roles = {account.role for account in DEMO_ACCOUNTS}
    assert roles == {"admin", "supervisor", "cctv_operator", "officer", "backoffice", "report_only"}
    with hall.database.session() as session:
        from central.cases.positions import positions_of

        assert {"petugas_dokjal", "petugas_intalkim"} <= positions_of(session, OFFICER)
        assert {"kasi_dokjal", "kasi_intalkim"} <= positions_of(session, APPROVER)
        assert {"kasi_unit_tpi", "kasi_pemeriksaan", "kabid_tpi"} <= positions_of(session, "demo_kasi_tpi")
        assert {account.username for account in DEMO_ACCOUNTS} >= set(BY_ROLE.values())


def test_supervisor_acknowledges_the_alarm_on_the_console_and_opens_the_hold_case(user: User) -> None:
    user.log_in(BY_ROLE["supervisor"])
    assert user.driver.current_url.endswith("/console")  # the supervisor's home is the console
    user.page.until(lambda: user.page.count("#alarm-banner .alarm button.ack") > 0)
    assert "PRANOTO" in user.page.text("#alarm-banner")
    user.page.click("#alarm-banner .alarm button.ack")
    user.page.until(lambda: user.page.js("return document.querySelector('#alarm-banner').hidden;"))
    user.nav("cases.index")
    user.follow("main table a[href^='/cases/']", "the hold's case")
    assert "tpi-03" in user.page.text("h1") or "cekal" in user.page.text("main").lower()
    user.every_page_of_the_bar()
    assert not user.page.script_errors()


def test_back_office_officer_takes_a_passport_application_to_the_enrolment_a_gate_verifies(
        user: User, hall, tmp_path) -> None:
    from edge.gate.enrolment_client import EnrolmentClient
    from simulators.fingerprints import impression

    from central.app import EXT_KEY

    user.log_in(OFFICER)
    user.follow('#home-pages a[data-endpoint="work.home"]', "My work")
    user.follow("#start-doc-01-passport-issuance-mpaspor", "the passport application form")
    for name, value in {"surname": "OBAMA", "given_names": "BARACK", "birth_date": "08041961",
                        "applicant_phone": "+62811555"}.items():
        user.page.type(f"#open-form [name={name}]", value)
    user.follow("#open-submit", "the new case")
    case_id = user.case_id()
    user.step("registered", mpaspor_booking="MP-2026-1")
    user.step()  # the applicant completes the documents
    user.step("complete")
    finger = tmp_path / "finger.png"
    cv2.imwrite(str(finger), impression("journey-applicant", 0))
    from selenium.webdriver.common.by import By

    user.driver.find_element(By.ID, "face-file").send_keys(str(FACES / "obama.jpg"))
    user.driver.find_element(By.ID, "finger-file").send_keys(str(finger))
    user.follow("#capture-submit", "the capture")
    assert user.page.count("#captured") == 1
    user.step("approve")
    user.step(payment_reference="POS-77")
    user.step(passport_number="E7654321", expiry_date="2036-08-04")
    user.step("printed")
    user.step()  # the daily issuance register
    assert "Head of Travel Document Section" in user.page.text("#not-your-step")

    user.log_in(APPROVER)
    user.follow('#home-pages a[data-endpoint="work.home"]', "the approver's work")
    user.follow(f'.work tr[data-case="{case_id}"] a', "the application from the approver's work")
    user.step("endorse")
    assert "Enrolment" in user.page.text("#links")
    user.every_page_of_the_bar()
    assert not user.page.script_errors()

    with hall.database.session() as session:
        assert session.get(Case, case_id).status in {"open", "closed"}
        assert session.scalar(select(Enrolment.document_number)) == "E7654321"
    gate = hall.add_gate("gt-journey-passport")
    fetched = EnrolmentClient(hall.url, gate_id=gate.gate_id, gate_key=gate.key,
                              central_key=hall.app.extensions[EXT_KEY].public, budget_s=10).fetch("E7654321", "IDN")
    assert fetched.status == "found" and fetched.templates.face is not None, fetched


def test_cctv_operator_opens_the_alarm_queue(user: User) -> None:
    user.log_in(BY_ROLE["cctv_operator"])
    assert user.driver.current_url.endswith("/cctv")  # the operator's station is the queue
    endpoints = user.every_page_of_the_bar()
    assert "cctv.queue" in endpoints
    user.nav("cctv.queue")
    assert not user.page.script_errors()


def test_administrator_manages_users_gates_positions_and_reads_the_audit_log(user: User) -> None:
    user.log_in(BY_ROLE["admin"])
    user.follow('#home-pages a[data-endpoint="admin.users"]', "Users")
    user.follow(f'#users tr[data-username="{OFFICER}"] a', "a user's page")
    user.nav("admin.gates")
    user.follow('#gates-table tr[data-gate="gt-journey"] a', "a gate's page")
    user.nav("admin.audit")
    assert user.page.count("table.audit tbody tr") > 0
    user.nav("work.admin")
    assert user.page.count(f'tr[data-user="{APPROVER}"]') == 1
    user.every_page_of_the_bar()
    assert not user.page.script_errors()


def test_counter_officer_finds_crossings_the_watchlist_and_cases(user: User) -> None:
    user.log_in(BY_ROLE["officer"])
    user.follow('#home-pages a[data-endpoint="reports.crossings_page"]', "Crossings")
    user.follow("#crossing-search button[type=submit]", "a crossing search")
    endpoints = user.every_page_of_the_bar()
    assert {"watchlist.index", "cases.index", "work.home"} <= set(endpoints)
    assert not user.page.script_errors()


def test_report_only_user_reads_the_reports(user: User) -> None:
    user.log_in(BY_ROLE["report_only"])
    user.follow('#home-pages a[data-endpoint="reports.daily_page"]', "Daily recap")
    user.follow("form.search button[type=submit]", "the day's recap")
    user.nav("reports.gates_page")
    user.nav("sla.page")
    endpoints = user.every_page_of_the_bar()
    assert {"reports.daily_page", "reports.gates_page", "sla.page"} <= set(endpoints)
    assert not user.page.script_errors()
