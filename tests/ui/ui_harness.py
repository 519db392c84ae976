"""A real central (waitress on a free port, SQLite) and a headless Chromium driving it.

Shared by ``tests/ui`` and ``bench/ui``. Messages go through the real ingest worker, signed with
the gate's key, exactly as they arrive from MQTT; the worker and the web app share one event bus,
as they do inside ``autogate central serve``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import central.ingest.worker  # noqa: F401 - registers every table (cases too) before create_all
from central.app import create_app
from central.db import Database
from central.events import LocalBus
from central.ingest.worker import Delivery, IngestWorker
from central.models import User
from central.services.gates import add_gate
from central.settings import CentralSettings
from protocol import (
    GateEvent,
    GateState,
    KeyPair,
    TravelerDocument,
    generate_keypair,
    seal,
)
from protocol.topics import gate_events, gate_state

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver", "chromium-driver")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # The alarm tone must start without a click in an unattended browser.
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1400,1000",
)
PASSWORD = "correct horse battery staple"

HELD_TRAVELER = TravelerDocument(
    document_number="C9876543",
    document_type="P",
    issuing_state="IDN",
    expiry_date=date(2031, 3, 3),
    given_names="JOKO",
    surname="PRANOTO",
    sex="M",
    birth_date=date(1979, 8, 17),
    nationality="IDN",
)



def need_browser() -> None:
    """Skip the calling test when Selenium or Chromium is missing; fail instead when
    AUTOGATE_REQUIRE_SERVICES=1 (as CI sets it), so a CI machine without them cannot pass quietly."""
    import pytest

    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if find_browser() is None:
        missing.append("chromium + chromium-driver (apt)")
    if missing:
        text = "headless UI test needs " + ", ".join(missing)
        if os.environ.get("AUTOGATE_REQUIRE_SERVICES") == "1":
            pytest.fail(text + " and AUTOGATE_REQUIRE_SERVICES=1")
        pytest.skip(text)

def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is not installed."""
    browser = next((p for p in map(shutil.which, CHROMIUM_CANDIDATES) if p), None)
    driver = next((p for p in map(shutil.which, DRIVER_CANDIDATES) if p), None)
    return (browser, driver) if browser and driver else None


@dataclass
class Gate:
    gate_id: str
    key: KeyPair = field(default_factory=generate_keypair)
    seq: Any = field(default_factory=lambda: itertools.count(1))

    def event(self, payload: GateEvent) -> Delivery:
        return Delivery(
            gate_events(self.gate_id),
            seal(
                payload,
                sender=self.gate_id,
                key=self.key,
                seq=next(self.seq),
                now_ms=now_ms(),
            ),
        )

    def state(self, payload: GateState) -> Delivery:
        return Delivery(
            gate_state(self.gate_id),
            seal(payload, sender=self.gate_id, key=self.key, seq=0, now_ms=now_ms()),
        )


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Central:
    """central running for real: the URL, its database, and the ingest worker that feeds it."""

    url: str
    database: Database
    worker: IngestWorker
    publisher: Any
    app: Any = None  # the Flask app, for its central key (a gate verifies central's answers with it)

    def add_gate(self, gate_id: str | None = None, direction: str = "departure") -> Gate:
        gate = Gate(gate_id or f"gt-{uuid.uuid4().hex[:8]}")
        with self.database.session() as session:
            add_gate(
                session,
                gate.gate_id,
                public_key_b64=gate.key.public.b64,
                direction=direction,
                name=gate.gate_id.upper(),
            )
            session.commit()
        return gate

    def add_user(self, role: str) -> str:
        from argon2 import PasswordHasher

        username = f"{role}-{uuid.uuid4().hex[:6]}"
        # Cheap parameters: the verifier reads them from the hash (login has its own tests).
        hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        with self.database.session() as session:
            session.add(User(username=username, role=role, password_hash=hashed, active=True))
            session.commit()
        return username

    def ingest(self, delivery: Delivery) -> None:
        if not self.worker.process(delivery):
            raise RuntimeError("ingest worker did not store the message")


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, timeout_s: float = 5.0) -> None:
        self.sent.append((topic, payload))


@contextmanager
def running_central(tmp: Path, *, extensions: tuple[Any, ...] = ()) -> Iterator[Central]:
    from central.cli import close_http, http_server

    url = f"sqlite:///{tmp / 'central.db'}"
    database = Database(url)
    database.create_all()
    bus = LocalBus()
    publisher = RecordingPublisher()
    from central.cctv.views import init_app as init_cctv
    from central.enrolments.views import init_app as init_enrolments
    from central.watchlists.views import init_app as init_watchlists

    app = create_app(
        CentralSettings(demo_mode=True, database_url=url),
        database=database,
        publisher=publisher,
        bus=bus,
        # as ``autogate central serve`` builds it (the CCTV queue included: without it a CCTV
        # operator's home was a page of tiles, not the queue), plus what the test adds
        extensions=[init_watchlists, init_enrolments, init_cctv, *extensions],
    )
    # threads: the stream holds one, page loads and API calls use the rest.
    server = http_server(app, host="127.0.0.1", port=0, threads=6, channel_timeout=30)
    thread = threading.Thread(target=server.run, name="ui-test-waitress", daemon=True)
    thread.start()
    worker = IngestWorker(database, ack=lambda _d: None, bus=bus)
    try:
        yield Central(f"http://127.0.0.1:{server.effective_port}", database, worker, publisher, app)
    finally:
        close_http(server, bus)
        thread.join(5)
        database.dispose()


@contextmanager
def chromium(tmp: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise RuntimeError("chromium and chromedriver are not installed")
    browser, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp / 'chromium-profile'}")
    os.environ.setdefault("SE_AVOID_STATS", "true")  # selenium-manager must not phone home
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver: Any, base_url: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/login?next=/console")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()


def hold_messages(gate: Gate, transaction_id: str) -> tuple[Delivery, Delivery]:
    """A cekal identik at *gate*: the hold event (raises the alarm) and the held state."""
    event = GateEvent(
        event="alarm_raised",
        transaction_id=transaction_id,
        reason="cekal_identik",
        traveler=HELD_TRAVELER,
        details={"watchlist_entry": "DPO-2026-0042 (departure ban)"},
    )
    state = GateState(
        state="held",
        entry_door="locked",
        exit_door="locked",
        since_ms=now_ms(),
        direction="departure",
        transaction_id=transaction_id,
        traveler=HELD_TRAVELER,
        alarm="cekal_identik",
        commands=("release_held", "acknowledge_alarm"),
    )
    return gate.event(event), gate.state(state)


def idle_state(gate: Gate) -> Delivery:
    return gate.state(
        GateState(
            state="idle",
            entry_door="closed",
            exit_door="closed",
            since_ms=now_ms(),
            direction="departure",
            commands=("out_of_service",),
        )
    )


WAIT_S = 15  # generous: the machine running the tests is shared and may be loaded


class Page:
    """A browser with the waits the console needs: it redraws on every pushed event, so elements
    are looked up afresh and a click whose element was replaced in between is retried."""

    def __init__(self, driver: Any, wait_s: float = WAIT_S) -> None:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.wait = WebDriverWait(driver, wait_s, ignored_exceptions=(NoSuchElementException,
                                                                     StaleElementReferenceException))

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def until(self, predicate: Any) -> Any:
        return self.wait.until(lambda _d: predicate())

    def text(self, css: str) -> str:
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : '';", css) or ""

    def texts(self, css: str) -> list[str]:
        return self.js("return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);", css)

    def attribute(self, css: str, name: str) -> str | None:
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                       css, name)

    def count(self, css: str) -> int:
        return int(self.js("return document.querySelectorAll(arguments[0]).length;", css))

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        def attempt(d: Any) -> bool:
            d.find_element(By.CSS_SELECTOR, css).click()
            return True

        self.wait.until(attempt)

    def type(self, css: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        def attempt(d: Any) -> bool:
            field = d.find_element(By.CSS_SELECTOR, css)
            field.clear()
            field.send_keys(text)
            return True

        self.wait.until(attempt)

    def command(self, gate_id: str, action: str, reason: str) -> None:
        """Use one of a gate card's command forms: open it, type the reason, confirm."""
        form = f"#gate-{gate_id} form[data-action={action}]"
        self.click(form + " button.act")
        self.type(form + " input[name=reason]", reason)
        self.click(form + " button.confirm")

    def script_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and e["source"] != "network"]


def log_in_as(driver: Any, base_url: str, username: str, *, next_path: str = "/") -> None:
    """Log in through the form, landing on *next_path*."""
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/login?next=" + next_path)
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()


def state(gate: Gate, name: str, *, transaction_id: str | None = None, commands: tuple[str, ...] = (),
          traveler: TravelerDocument | None = None, alarm: str | None = None, entry: str = "closed",
          exit_: str = "closed") -> Delivery:
    """A gate's retained state, as the gate machine would publish it."""
    return gate.state(GateState(state=name, entry_door=entry, exit_door=exit_, since_ms=now_ms(),
                                direction="departure", transaction_id=transaction_id, traveler=traveler,
                                alarm=alarm, commands=commands))
