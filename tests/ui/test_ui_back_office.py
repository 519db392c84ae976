"""The back office in headless Chromium, by officers holding the right positions (issue 21 item 8):

- an administrator gives two new accounts their positions; the travel-document officer takes a
  passport application from the home page of work to the endorsement, uploading the applicant's
  face and fingerprint; the officer cannot endorse (the wrong position); the Head of Travel
  Document Section endorses; a gate then fetches the enrolment over HTTP, signed, and verifies the
  applicant with the gates' engines;
- a stay-permit extension whose endorsement is refused to the clerk who registered it, though the
  clerk holds the Head of Office's position too, and done by another;
- a deportation checked up the chain and ending in a proposed entry ban;
- the form that opens a case stays inside its panel in a narrow window (issue 19 item 9).

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium; skips without them, except
under AUTOGATE_REQUIRE_SERVICES=1, where it fails.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import ui_harness as ui
from sqlalchemy import select

from central.cases.models import Case, WatchlistProposal
from central.cases.positions import set_positions
from central.enrolments.models import Enrolment
from central.services.audit import Actor

WAIT_S = 15
FACES = Path(__file__).resolve().parents[1] / "face" / "data"


@pytest.fixture
def central(tmp_path):
    ui.need_browser()
    with ui.running_central(tmp_path) as running:  # the harness builds central as `serve` does
        yield running


@pytest.fixture
def browser(tmp_path, central):
    with ui.chromium(tmp_path) as driver:
        yield driver


class Officer:
    """One person at the browser: logs in, follows links and buttons as they appear."""

    def __init__(self, driver, central: ui.Central) -> None:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.central = driver, central
        # Pages reload after every form: look elements up afresh and retry when one went stale.
        self.wait = WebDriverWait(driver, WAIT_S, ignored_exceptions=(NoSuchElementException,
                                                                      StaleElementReferenceException))

    def log_in(self, username: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.delete_all_cookies()
        self.driver.get(self.central.url + "/login")
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(ui.PASSWORD)
        self.driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
        self.wait.until(lambda d: "/login" not in d.current_url)

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        def attempt(d) -> bool:
            d.find_element(By.CSS_SELECTOR, css).click()
            return True

        self.wait.until(attempt)

    def fill(self, name: str, value: str) -> None:
        from selenium.webdriver.common.by import By

        field = self.driver.find_element(By.CSS_SELECTOR, f"#step-form [name={name}], #open-form [name={name}]")
        field.clear()
        field.send_keys(value)

    def step(self, answer: str | None = None, **fields: str) -> None:
        """Fill the current step's form and complete it (with *answer* at a decision)."""
        from selenium.webdriver.common.by import By

        done = "return document.querySelectorAll('#history tbody tr[class]').length;"
        before = self.driver.execute_script(done)
        for name, value in fields.items():
            self.fill(name, value)
        self.click(f"#answer-{answer}" if answer else "#done")
        self.wait.until(lambda d: d.execute_script(done) != before or d.find_elements(By.CSS_SELECTOR, "#refused"))
        assert not self.driver.find_elements(By.CSS_SELECTOR, "#refused"), self.text("#refused")

    def text(self, css: str) -> str:
        from selenium.webdriver.common.by import By

        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""

    def open_from_work(self, workflow: str, **fields: str) -> int:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        self.click("#nav-work")
        self.click(f"#start-{workflow}")
        try:
            self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#open-form"))
        except Exception:
            Path("/tmp/office/ui-page.html").write_text(self.driver.page_source)
            raise
        for name, value in fields.items():
            element = self.driver.find_element(By.CSS_SELECTOR, f"#open-form [name={name}]")
            if element.tag_name == "select":
                Select(element).select_by_value(value)
            else:
                element.send_keys(value)
        self.click("#open-submit")
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#history"))
        return int(self.driver.current_url.rstrip("/").rsplit("/", 1)[1])

    def case(self, case_id: int) -> None:
        self.driver.get(f"{self.central.url}/cases/{case_id}")


def _positions(central: ui.Central, username: str, *positions: str) -> None:
    with central.database.session() as session:
        set_positions(session, username, positions, Actor("test-admin", None))
        session.commit()


def test_passport_application_from_the_home_page_to_the_enrolment_a_gate_verifies(central, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    from simulators.fingerprints import impression

    admin, officer_name, head_name = central.add_user("admin"), central.add_user("backoffice"), central.add_user("backoffice")
    person = Officer(browser, central)
    # The administrator gives the two new accounts their positions, on the page made for it.
    person.log_in(admin)
    person.click("#nav-work")
    browser.get(central.url + "/work/admin")
    for username, position in ((officer_name, "petugas_dokjal"), (head_name, "kasi_dokjal")):
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-user="{username}"]')
        row.find_element(By.CSS_SELECTOR, f'input[value="{position}"]').click()
        row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        person.wait.until(lambda d, u=username: "holds:" in d.find_element(By.CSS_SELECTOR, ".flash").text)

    # The travel-document officer, new to the system, starts from the home page of work.
    person.log_in(officer_name)
    case_id = person.open_from_work("doc-01-passport-issuance-mpaspor", surname="OBAMA", given_names="BARACK",
                                    birth_date="08041961", applicant_phone="+62811555")
    person.step("registered", mpaspor_booking="MP-2026-1")
    person.step()  # the applicant completes the documents
    person.step("complete")
    finger = tmp_path / "finger.png"
    cv2.imwrite(str(finger), impression("ui-applicant", 0))
    browser.find_element(By.ID, "face-file").send_keys(str(FACES / "obama.jpg"))
    browser.find_element(By.ID, "finger-file").send_keys(str(finger))
    person.click("#capture-submit")
    person.wait.until(lambda d: d.find_elements(By.ID, "captured"))
    person.step("approve")
    person.step(payment_reference="POS-77")
    person.step(passport_number="E7654321", expiry_date="2036-08-04")
    person.step("printed")
    person.step()  # the daily issuance register
    # The endorsement is the Head of Travel Document Section's: the officer gets no form, and a
    # post made anyway is refused.
    assert "Head of Travel Document Section" in person.text("#not-your-step")
    assert not browser.find_elements(By.ID, "step-form")
    status = browser.execute_script(
        "const f = new FormData(); f.append('csrf_token', document.querySelector('meta[name=csrf-token]').content);"
        "f.append('answer', 'endorse'); const x = new XMLHttpRequest();"
        f"x.open('POST', '/cases/{case_id}/steps/endorse', false); x.send(f); return x.status;")
    assert status == 403

    person.log_in(head_name)
    person.click("#nav-work")
    person.click(f'#work-open tr[data-case="{case_id}"] a, #work-due_soon tr[data-case="{case_id}"] a')
    person.step("endorse")
    assert "Enrolment" in person.text("#links")
    with central.database.session() as session:
        enrolment = session.scalar(select(Enrolment))
        assert (enrolment.document_number, enrolment.surname) == ("E7654321", "OBAMA")

    # A gate fetches it over HTTP, signed, and verifies the applicant with the gates' engines.
    from edge.face import FaceEngine
    from edge.fingerprint import FingerprintEngine
    from edge.gate.enrolment_client import EnrolmentClient

    from central.app import EXT_KEY

    gate = central.add_gate("gt-ui-passport")
    fetched = EnrolmentClient(central.url, gate_id=gate.gate_id, gate_key=gate.key,
                              central_key=central.app.extensions[EXT_KEY].public, budget_s=10).fetch("E7654321", "IDN")
    assert fetched.status == "found", fetched
    assert FaceEngine.from_models().verify(cv2.imread(str(FACES / "obama2.jpg")), fetched.templates.face).match
    fingerprints = FingerprintEngine.from_models()
    assert fingerprints.verify(fingerprints.extract(impression("ui-applicant", 2)),
                               fingerprints.from_iso(fetched.templates.fingerprint_iso)).match


def test_stay_permit_extension_with_an_approval_refused_to_who_registered_it(central, browser) -> None:
    clerk, head, counter = central.add_user("backoffice"), central.add_user("backoffice"), central.add_user("officer")
    _positions(central, clerk, "petugas_intalkim", "bendahara", "petugas_tik", "petugas_inteldakim", "kepala_kantor")
    _positions(central, head, "kepala_kantor")
    person = Officer(browser, central)
    person.log_in(clerk)
    case_id = person.open_from_work("doc-02-itk-extension", applicant_name="JOHN SMITH")
    for answer, fields in [(None, {}), (None, {}), (None, {"payment_reference": "PNBP-9"}), (None, {}), (None, {}),
                           ("clear", {}), ("in_order", {}), (None, {}), (None, {"registration_number": "REG-9"})]:
        person.step(answer, **fields)
    assert "You did the step this one approves" in person.text("#not-your-step")
    # A counter officer holds no stay-permit position at all.
    person.log_in(counter)
    person.case(case_id)
    assert "Head of Office" in person.text("#not-your-step")
    person.log_in(head)
    person.case(case_id)
    person.step("endorse")
    person.log_in(clerk)
    person.case(case_id)
    person.step(collected_by="JOHN SMITH")
    person.step()
    person.step()
    assert "ITK extended" in person.text("#status")


def test_deportation_checked_up_the_chain_ends_in_a_proposed_entry_ban(central, browser) -> None:
    staff, kasi, kabid, head = (central.add_user("backoffice") for _ in range(4))
    _positions(central, staff, "petugas_inteldakim")
    _positions(central, kasi, "kasi_penindakan")
    _positions(central, kabid, "kabid_inteldakim")
    _positions(central, head, "kepala_kantor")
    person = Officer(browser, central)
    person.log_in(staff)
    case_id = person.open_from_work("int-04-deportation", detainee_name="JOHN DOE", detainee_nationality="GBR",
                                    detainee_document_number="123456789")
    person.step(flight="GA 88")
    for who, answer in ((kasi, "correct"), (kabid, "correct"), (head, "approve")):
        person.log_in(who)
        person.click("#nav-work")
        person.click(f'tr[data-case="{case_id}"] a')
        person.step(answer)
    person.log_in(staff)
    person.case(case_id)
    person.step(release_warrant_reference="W-77")
    person.step()
    person.step(flight="GA 88")
    person.step(summary="Deported on GA 88.")
    person.step()
    person.step("propose_ban", reason="overstay and violence", ban_years="6")
    assert "entry ban proposed" in person.text("#status")
    with central.database.session() as session:
        assert session.get(Case, case_id).status == "closed"
        assert session.scalar(select(WatchlistProposal)).status == "proposed"


def test_the_form_that_opens_a_case_stays_inside_its_panel(central, browser) -> None:
    """Issue 19 item 9: the SOP list's long titles pushed the select, and the form, past its panel."""
    officer = central.add_user("supervisor")
    person = Officer(browser, central)
    person.log_in(officer)
    outside = (
        "return Array.from(document.querySelectorAll('form.step')).flatMap(form => {"
        " const box = form.getBoundingClientRect();"
        " return Array.from(form.querySelectorAll('input, select, textarea, fieldset, button'))"
        "  .filter(e => e.type !== 'hidden' && e.getBoundingClientRect().right > box.right + 0.5)"
        "  .map(e => e.name || e.tagName); });")
    for width in (1400, 520):
        browser.set_window_size(width, 900)
        for path in ("/cases/new", "/cases/new?workflow=tpi-03-cekal", "/cases/new?workflow=tpi-07-overstay"):
            browser.get(central.url + path)
            assert browser.find_elements("css selector", "form.step"), path
            assert browser.execute_script(outside) == [], (width, path)
            assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1;"), (width, path)
