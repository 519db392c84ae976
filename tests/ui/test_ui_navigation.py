"""Every role finds its pages from the bar, a refused page reads as a page, and an administrator
manages users, gates and the audit log in the browser (issue 19, items 5 and 6).

Before, officers, back office, CCTV operators and report-only users landed on "The JSON API is
under /api/v1/", nothing linked to cases or the watchlist, and a 403 showed raw HTML.
"""

from __future__ import annotations

import pytest
import ui_harness as ui
from sqlalchemy import select

from central.models import AuditEntry, User
from protocol import generate_keypair

ROLES = ("supervisor", "admin", "officer", "backoffice", "cctv_operator", "report_only")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_every_page_of_its_bar_by_clicking(central, page, role) -> None:
    ui.log_in_as(page.driver, central.url, central.add_user(role))
    page.until(lambda: page.count("#nav a") > 0)
    labels = page.texts("#nav a")
    endpoints = page.js("return [...document.querySelectorAll('#nav a')].map(a => a.dataset.endpoint);")
    assert "Home" in labels
    stations = {"supervisor", "cctv_operator"}  # home is their station: the console, the CCTV queue
    if role not in stations:
        assert "The JSON API is under" not in page.text("main")
        assert page.count("#home-pages a") == len(endpoints) - 1
    for endpoint in endpoints:
        page.click(f'#nav a[data-endpoint="{endpoint}"]')
        page.until(lambda: page.attribute("#nav a.current", "data-endpoint") == endpoint
                   or (endpoint == "auth.index" and role in stations))
        assert not page.count("#error-status"), (role, endpoint, page.text("main"))
    expected = {
        "supervisor": {"console.page", "cases.index", "watchlist.index"},
        "admin": {"admin.users", "admin.gates", "admin.audit", "watchlist.index"},
        "officer": {"cases.index", "watchlist.index", "reports.crossings_page"},
        "backoffice": {"cases.index", "reports.crossings_page"},
        "cctv_operator": {"cases.index", "cctv.queue"},
        "report_only": {"reports.daily_page", "reports.gates_page"},
    }[role]
    assert expected <= set(endpoints)
    assert not page.script_errors()


def test_a_refused_page_shows_as_a_page_with_a_way_back(central, page) -> None:
    ui.log_in_as(page.driver, central.url, central.add_user("officer"))
    page.until(lambda: page.count("#nav a") > 0)
    page.driver.get(central.url + "/admin/users")
    page.until(lambda: page.count("#error-status") == 1)
    assert page.text("#error-status").startswith("403")
    assert "<" not in page.text("main")  # markup rendered, not shown
    page.click("main a[href='/']")
    page.until(lambda: page.count("#home-pages") == 1)


def test_an_administrator_manages_users_gates_and_reads_the_audit_log(central, page) -> None:
    admin = central.add_user("admin")
    ui.log_in_as(page.driver, central.url, admin)
    page.until(lambda: page.count("#nav a") > 0)
    page.click('#nav a[data-endpoint="admin.users"]')
    page.type("#new-user input[name=username]", "dewi.tpi")
    page.js("document.querySelector('#new-user select[name=role]').value = 'officer';")
    page.click("#new-user button[type=submit]")
    page.until(lambda: page.count("#one-time-password") == 1)
    one_time = page.text("#one-time-password")
    assert 'dewi.tpi' in page.text("#users")

    page.click('#users tr[data-username="dewi.tpi"] a')
    page.until(lambda: page.count("#reset-password") == 1)
    page.js("document.querySelector('#edit-user select[name=role]').value = 'backoffice';")
    page.click("#edit-user button[type=submit]")
    page.until(lambda: "Saved" in page.text("main"))
    page.click("#reset-password button[type=submit]")
    page.until(lambda: page.count("#one-time-password") == 1)
    assert page.text("#one-time-password") != one_time

    page.click('#nav a[data-endpoint="admin.gates"]')
    key = generate_keypair().public.b64
    page.type("#new-gate input[name=gate_id]", "gt-nav01")
    page.type("#new-gate input[name=name]", "Keberangkatan 1")
    page.type("#new-gate input[name=public_key]", key)
    page.click("#new-gate button[type=submit]")
    page.until(lambda: page.count("#registered") == 1)
    page.click('#gates-table tr[data-gate="gt-nav01"] a')
    page.type("#gate-service input[name=reason]", "lane maintenance")
    page.click("#gate-service button[type=submit]")
    page.until(lambda: page.count("#last-command") == 1)
    page.type("#rotate-key input[name=public_key]", generate_keypair().public.b64)
    page.click("#rotate-key button[type=submit]")
    page.until(lambda: "Key changed" in page.text("main"))

    page.click('#nav a[data-endpoint="admin.audit"]')
    page.until(lambda: page.count("table.audit tbody tr") > 5)
    actions = set(page.js("return [...document.querySelectorAll('table.audit tr[data-action]')].map(r => r.dataset.action);"))
    assert {"user_create", "user_update", "user_password_reset", "gate_add", "command", "gate_key_rotate"} <= actions
    assert "WIB" in page.text("table.audit tbody tr td")
    with central.database.session() as session:
        user = session.scalar(select(User).where(User.username == "dewi.tpi"))
        assert user.role == "backoffice" and user.must_change_password
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "gate_add")).username == admin
    assert not page.script_errors()


def test_an_officer_finds_a_crossing_and_a_report_reader_the_days_recap_from_their_home_page(central, page) -> None:
    from protocol import CrossingRecord

    gate = central.add_gate("gt-nav02")
    now_ms = ui.now_ms()
    central.ingest(gate.event(CrossingRecord(transaction_id="tx-n1", direction="departure", traveler=ui.HELD_TRAVELER,
                                             started_at_ms=now_ms - 9000, completed_at_ms=now_ms)))
    ui.log_in_as(page.driver, central.url, central.add_user("officer"))
    page.click('#home-pages a[data-endpoint="reports.crossings_page"]')
    page.type("#crossing-search input[name=document_number]", ui.HELD_TRAVELER.document_number)
    page.click("#crossing-search button[type=submit]")
    page.until(lambda: page.count("#results tbody tr") == 1)
    assert page.text("#results tbody tr td").endswith("WIB") and "PRANOTO" in page.text("#results")

    page.driver.delete_all_cookies()
    ui.log_in_as(page.driver, central.url, central.add_user("report_only"))
    page.click('#home-pages a[data-endpoint="reports.daily_page"]')
    page.click("form.search button[type=submit]")
    page.until(lambda: page.count("#recap-crossings") == 1)
    assert page.text("#recap-crossings") == "1"
