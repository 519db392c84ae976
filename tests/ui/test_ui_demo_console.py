"""Done for issue 19: a person running ``autogate demo --no-supervisor-bot`` can, from the console
alone, see a hold with its evidence, release the traveller and see the gate return to service,
with one alarm per event, in Indonesian and WIB. The real demo (processes, broker, engines),
a headless Chromium as the supervisor; nobody else answers the gates.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import ui_harness as ui

from simulators.broker import free_port

REPO = Path(__file__).resolve().parents[2]


def test_a_person_works_a_hold_in_the_demo_without_its_supervisor_bot(tmp_path, browser) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "autogate", "demo", "--no-supervisor-bot", "--gates", "1", "--rate", "30",
         "--http-port", str(port), "--workdir", str(tmp_path / "demo")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        deadline = time.monotonic() + 120
        while "stop with Ctrl-C" not in banner and time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line and demo.poll() is not None:
                break
            banner += line
        password = re.search(r"demo_supervisor\s+(\S+)", banner)
        assert password, banner[-2000:]
        assert "no supervisor bot" in banner
        page = ui.Page(browser, wait_s=180)
        base = f"http://127.0.0.1:{port}"
        browser.get(base + "/login")
        page.click("#lang-id")
        page.until(lambda: page.attribute("html", "lang") == "id")
        from selenium.webdriver.common.by import By

        browser.find_element(By.NAME, "username").send_keys("demo_supervisor")
        browser.find_element(By.NAME, "password").send_keys(password.group(1))
        browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
        page.until(lambda: page.count("#gate-gate-01") == 1)

        # The second traveller is on the seeded watchlist: the hold reaches the console.
        page.until(lambda: page.attribute("#gate-gate-01", "data-state") == "held")
        page.until(lambda: page.count("#alarm-banner .alarm") == 1)
        banner_text = page.text("#alarm-banner")
        assert "Instansi: Komisi Pemberantasan Korupsi" in banner_text and "Pencegahan" in banner_text
        page.until(lambda: page.count("#gate-gate-01 .faces img") == 2)  # the held face beside the passport's
        assert "Wajah tertangkap" in page.text("#gate-gate-01 .faces")
        assert "ambang" in page.text("#gate-gate-01 dd.score-face")
        assert re.search(r"\d\d:\d\d:\d\d WIB", page.text("#alerts tbody tr"))
        holds = page.js("return [...document.querySelectorAll('#alerts tbody tr')]"
                        ".filter(r => r.dataset.kind === 'watchlist_hold').length;")
        assert holds == 1  # one alarm for one hold

        page.command("gate-01", "release_held", "Petugas membawa pelintas ke ruang cekal")
        # The traveller leaves with the officers; the gate is back in service on its own.
        page.until(lambda: page.attribute("#gate-gate-01", "data-state") in ("return_to_counter", "idle"))
        page.until(lambda: page.js("return document.querySelector('#alarm-banner').hidden;"))
        page.until(lambda: page.attribute("#sound-state", "data-playing") == "no")
        page.until(lambda: page.attribute("#gate-gate-01", "data-state") == "idle")
        released = page.js("return [...document.querySelectorAll('#alerts tbody tr')]"
                           ".filter(r => r.dataset.kind === 'watchlist_hold').map(r => r.className);")
        assert released == ["sev-critical acked"]
        assert not page.script_errors()
    finally:
        demo.terminate()
        out, _ = demo.communicate(timeout=120)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["releases"] >= 1 and summary["holds"] >= 1
    assert summary["commands"].get("accepted", 0) >= 1
