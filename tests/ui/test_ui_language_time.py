"""Indonesian throughout and WIB everywhere a person reads a time (issue 19, items 7 and 8).

Before: choosing ID on the login page was lost at login, codes showed raw ("cekal_identik",
"document_scan", "Langkah: report"), headings doubled ("Peringatan (peringatan)"), and the
console showed times in the browser's zone while searches counted UTC days.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ui_harness as ui
from sqlalchemy import select

from central.models import Alert
from central.timefmt import format_wib
from protocol import CrossingRecord


def _log_in_in_indonesian(central, page, role: str, next_path: str = "/") -> None:
    page.driver.get(central.url + "/login")
    page.click("#lang-id")  # chosen before logging in
    page.until(lambda: page.attribute("html", "lang") == "id")
    ui.log_in_as(page.driver, central.url, central.add_user(role), next_path=next_path)
    page.until(lambda: page.count("#nav a") > 0)


def test_indonesian_chosen_at_login_stays_and_no_code_or_doubled_heading_shows(central, page) -> None:
    gate = central.add_gate("gt-id01")
    central.ingest(ui.idle_state(gate))
    for delivery in ui.hold_messages(gate, "tx-id1"):
        central.ingest(delivery)
    _log_in_in_indonesian(central, page, "supervisor", "/console")
    assert page.attribute("html", "lang") == "id"
    page.until(lambda: page.count("#alerts tbody tr") == 1)
    page.until(lambda: page.attribute("#gate-gt-id01", "data-state") == "held")
    text = page.js("return document.querySelector('main').innerText;")  # what a person reads
    for raw in ("cekal_identik", "watchlist_hold", "release_held", "acknowledge_alarm", "awaiting_supervisor"):
        assert raw not in text, raw
    headings = page.texts("main h2")
    assert "Peringatan" in headings and "Peringatan (peringatan)" not in headings
    assert "Gerbang autogate" in headings and "Perlintasan terakhir" in headings
    assert "DITAHAN (cekal)" in page.text("#gate-gt-id01") and "penahanan cekal" in page.text("#gate-gt-id01")
    assert "Serahkan pelintas yang ditahan" in page.text("#gate-gt-id01")
    assert page.texts("#nav a")[:2] == ["Beranda", "Konsol pengawas"]

    page.click('#nav a[data-endpoint="reports.gates_page"]')
    page.until(lambda: page.count("h1") == 1 and "Statistik" in page.text("h1"))
    page.driver.get(central.url + "/reports/daily")
    page.until(lambda: "Rekapitulasi harian" in page.text("h1"))
    assert "(rekapitulasi harian)" not in page.text("h1")
    page.driver.get(central.url + "/cases")  # the hold opened a cekal case
    page.until(lambda: page.count("#cases tbody tr[data-case]") == 1)
    assert "Kasus eskalasi" in page.text("h1")
    row = page.texts("#cases tbody tr[data-case] td")
    assert "report" not in row and "open" not in row and "terbuka" in row
    page.driver.get(central.url + "/watchlist")
    page.until(lambda: "Daftar cegah tangkal" in page.text("h1"))
    assert "Name or document" not in page.text("main") and "Nama atau dokumen" in page.text("main")


def test_step_names_are_words_in_the_gate_statistics(central, page) -> None:
    gate = central.add_gate("gt-id02")
    now_ms = ui.now_ms()
    central.ingest(gate.event(CrossingRecord(transaction_id="tx-c1", direction="departure", traveler=ui.HELD_TRAVELER,
                                             started_at_ms=now_ms - 9000, completed_at_ms=now_ms,
                                             timings_ms={"document_scan": 800, "face": 900, "total": 9000})))
    _log_in_in_indonesian(central, page, "report_only")
    page.driver.get(central.url + "/reports/gates")
    page.until(lambda: page.count("table.timings tbody tr") == 3)
    steps = page.texts("table.timings tbody tr td:first-child")
    assert "pindai dokumen" in steps and "document_scan" not in steps
    assert "kondisional (tanpa standar SOP)" in page.text("table.timings")
    assert "(no standard)" not in page.text("main")


def test_the_console_and_the_searches_read_wib_whatever_the_browsers_zone(central, page) -> None:
    page.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    gate = central.add_gate("gt-wib1")
    central.ingest(ui.idle_state(gate))
    # A crossing at 23:30 UTC on the 1st is on the 2nd in Jakarta (06:30 WIB).
    late = int(datetime(2026, 3, 1, 23, 30, tzinfo=UTC).timestamp() * 1000)
    central.ingest(gate.event(CrossingRecord(transaction_id="tx-w1", direction="departure", traveler=ui.HELD_TRAVELER,
                                             started_at_ms=late - 9000, completed_at_ms=late)))
    for delivery in ui.hold_messages(gate, "tx-w2"):
        central.ingest(delivery)
    ui.log_in_as(page.driver, central.url, central.add_user("supervisor"), next_path="/console")
    page.until(lambda: page.count("#alerts tbody tr") == 1)
    with central.database.session() as session:
        created = session.scalar(select(Alert.created_at))
    shown = page.text("#alerts tbody tr td")
    assert shown == format_wib(created)[11:], (shown, format_wib(created))  # "HH:MM:SS WIB"
    assert page.text("#status").endswith("WIB")

    page.driver.get(central.url + "/reports/crossings?date_from=2026-03-02&date_to=2026-03-02")
    page.until(lambda: page.count("#results tbody tr") == 1)
    assert page.text("#results tbody tr td") == "2026-03-02 06:30:00 WIB"
    page.driver.get(central.url + "/reports/crossings?date_from=2026-03-01&date_to=2026-03-01")
    page.until(lambda: page.count("#result-count") == 1)
    assert page.count("#results tbody tr") == 0  # the 1st in UTC is not the 1st in Jakarta


def test_the_api_gives_times_in_iso_with_their_offset(central, page) -> None:
    gate = central.add_gate("gt-iso1")
    for delivery in ui.hold_messages(gate, "tx-i1"):
        central.ingest(delivery)
    ui.log_in_as(page.driver, central.url, central.add_user("admin"), next_path="/api/v1/alerts")
    page.until(lambda: "created_at" in page.text("body"))
    import json

    alerts = json.loads(page.text("body"))["alerts"]
    assert datetime.fromisoformat(alerts[0]["created_at"]).utcoffset() is not None
    page.driver.get(central.url + "/api/v1/audit")
    entries = json.loads(page.text("body"))["entries"]
    assert entries and all(datetime.fromisoformat(e["at"]).utcoffset() is not None for e in entries)
