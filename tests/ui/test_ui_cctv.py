"""The CCTV operator's queue in headless Chromium, end to end (SOP it-05).

A real camera node (CameraService: detector, tracker, embedder, outbox, MQTT link) watches a
walk-past sequence synthesised from the public-domain test portraits; its alarm crosses the
embedded broker to central's ingest service and is pushed into the operator's open page: it
appears, sounds, shows the captured face beside the watchlist photo, is acknowledged (the sound
stops) and confirmed; the it-05 case opens with its clock running, flagged to the supervisors'
console; then the operator and the Kasi Unit TPI (supervisor role) run the case to its end.

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium. Skips without them, except
under AUTOGATE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import ui_harness as ui
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cctv"))

from cctv_support import PORTRAITS, clear_retained, walk_past  # noqa: E402

WAIT_S = 30  # the machine running the tests is shared and may be loaded


@pytest.fixture(scope="module")
def cctv_engine():
    from edge.face import FaceEngine

    return FaceEngine.from_models(embedder_model="face-mobilefacenet", detector_input_px=640,
                                  face_selection="largest")


@pytest.fixture(scope="module")
def portraits():
    import cv2

    return {p.stem: cv2.imread(str(p)) for p in sorted(PORTRAITS.glob("*.jpg"))}


@pytest.fixture(scope="module")
def face_boxes(cctv_engine, portraits):
    return {name: cctv_engine.primary_face(image).box for name, image in portraits.items()}


@contextmanager
def central_with_cctv(tmp: Path, broker):  # type: ignore[no-untyped-def]
    """central as `serve` runs it: web app, the CCTV area, the ingest service on the broker, one bus."""
    import central.cctv.models  # noqa: F401
    import central.watchlists.models  # noqa: F401
    from central.app import create_app
    from central.cctv.views import init_app as init_cctv
    from central.cli import close_http, http_server
    from central.db import Database
    from central.events import default_bus
    from central.ingest.mqtt import IngestService
    from central.settings import CctvSettings, CentralSettings
    from central.watchlists.views import init_app as init_watchlists

    url = f"sqlite:///{tmp / 'central.db'}"
    settings = CentralSettings(demo_mode=True, database_url=url, cctv=CctvSettings(same_person_threshold=0.6),
                               mqtt={"host": broker.host, "port": broker.port, "username": broker.username,
                                     "password": broker.password, "client_id": f"central-ui-{uuid.uuid4().hex[:6]}"})
    database = Database(url)
    database.create_all()
    ingest = IngestService(settings, database)

    def publish(topic: str, payload: bytes, retain: bool) -> None:
        ingest.publish(topic, payload, retain=retain)

    app = create_app(settings, database=database, publisher=ingest, bus=default_bus(),
                     extensions=[init_watchlists, lambda a: init_cctv(a, publish=publish)])
    server = http_server(app, host="127.0.0.1", port=0, threads=6, channel_timeout=30)
    thread = threading.Thread(target=server.run, name="ui-cctv-waitress", daemon=True)
    thread.start()
    ingest.start()
    try:
        assert ingest.wait_until_subscribed(15)
        yield app, database, f"http://127.0.0.1:{server.effective_port}", publish
    finally:
        ingest.stop()
        close_http(server, default_bus())
        thread.join(5)
        database.dispose()


def test_an_alarm_from_a_camera_is_confirmed_and_its_it05_case_runs_to_the_end(
        tmp_path, _embedded_broker, cctv_engine, portraits, face_boxes):
    ui.need_browser()
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from central.app import EXT_KEY
    from central.cases.models import Case
    from central.cases.positions import set_positions
    from central.cases.service import registry
    from central.cctv import cameras, faces, publisher
    from central.cctv.models import CctvAlarmRecord
    from central.models import Alert, AuditEntry
    from central.services.audit import Actor
    from central.watchlists import service as watchlist
    from edge.cctv.service import CameraService, camera_topics
    from edge.cctv.settings import CameraSettings
    from edge.cctv.source import open_source
    from edge.cctv.threshold import Threshold
    from edge.link.assembly import open_outbox
    from edge.link.mqtt import MqttLink
    from protocol.cctv import FACE_LIST_NOTICE, camera_health, face_delta_topic, face_snapshot_topic
    from protocol.keys import generate_keypair
    from simulators.cctv_feed import write_frames

    broker = _embedded_broker
    camera_id = f"cam-ui-{uuid.uuid4().hex[:6]}"
    camera_key = generate_keypair()
    frames = tmp_path / "frames"
    write_frames(walk_past(portraits, face_boxes, ["astronaut", "obama2"]).frames(), frames)

    with central_with_cctv(tmp_path, broker) as (app, database, url, publish), ui.chromium(tmp_path) as browser:
        operator = _add_user(database, "cctv_operator")  # petugas TPI, by its role
        kasi = _add_user(database, "supervisor")
        officer = Actor("sup-admin", "supervisor")
        with database.session() as session:
            # The decree's Kasi Unit TPI confirms the identity and holds (it-05 steps 5-6).
            set_positions(session, kasi, ["kasi_unit_tpi", "supervisor_tpi", "pengawas_autogate"], officer)
            cameras.add_camera(session, camera_id, public_key_b64=camera_key.public.b64, name="Hall C",
                               location="departure, before immigration")
            entry = watchlist.build_entry({"list": "pencegahan", "surname": "OBAMA", "given_names": "BARACK",
                                           "document_numbers": ["UI000001"], "agency": "KPK"})
            watchlist.add_entry(session, entry, officer)
            faces.enrol_photo(session, cctv_engine, entry.entry_id, (PORTRAITS / "obama.jpg").read_bytes(), officer,
                              settings=app.extensions["autogate.settings"].cctv)
            faces.commit_version(session, officer, "ui", settings=app.extensions["autogate.settings"].cctv,
                                 model=cctv_engine.model_tag)
            publisher.publish_current(session, key=app.extensions[EXT_KEY], publish=publish,
                                      now_ms=int(time.time() * 1000), model=cctv_engine.model_tag)
            session.commit()

        wait = WebDriverWait(browser, WAIT_S, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

        def js(script: str):  # type: ignore[no-untyped-def]
            return browser.execute_script(script)

        def attribute(css: str, name: str):  # type: ignore[no-untyped-def]
            return js(f"const e = document.querySelector({css!r}); return e ? e.getAttribute({name!r}) : null;")

        def click(css: str) -> None:
            def attempt(d) -> bool:  # type: ignore[no-untyped-def]
                d.find_element(By.CSS_SELECTOR, css).click()
                return True

            wait.until(attempt)

        # The operator logs in and lands on the queue, reached from the nav too.
        _log_in(browser, url, operator)
        wait.until(lambda d: d.current_url.endswith("/cctv"))
        assert attribute("#nav a[data-endpoint='cctv.queue']", "href").endswith("/cctv")
        wait.until(lambda d: attribute("#link-mode", "data-mode") == "live")
        wait.until(lambda d: attribute(f'#cameras li[data-camera-id="{camera_id}"]', "data-online") == "no")
        js("window.__sameDocument = 'yes';")

        # The camera node: face list from central, the walk-past sequence, its alarm over MQTT.
        camera_key.save(tmp_path / "camera.key")
        cam = CameraSettings(camera_id=camera_id, source=str(frames), key_file=tmp_path / "camera.key",
                             central_public_key=app.extensions[EXT_KEY].public.b64, data_dir=tmp_path / "cctv",
                             heartbeat_interval_s=1, mqtt={"host": broker.host, "port": broker.port,
                                                           "username": broker.username, "password": broker.password})
        outbox = open_outbox(cam, camera_key)  # type: ignore[arg-type]
        link = MqttLink(camera_id, cam.mqtt, key=camera_key, central_key=app.extensions[EXT_KEY].public, outbox=outbox,
                        heartbeat_interval_s=1, link_topics=camera_topics(camera_id))
        service = CameraService(cam, engine=cctv_engine, link=link, central_key=app.extensions[EXT_KEY].public,
                                threshold_rule=lambda n: Threshold(0.45, 0.01, n, 1e-3, False, "curve"))
        try:
            service.start()
            assert link.wait_for_connected(WAIT_S)
            assert _until(lambda: service.sync.version == 1), "the face list never reached the camera"
            handed_ms = int(time.time() * 1000)
            stats = service.run(open_source(str(frames), fps=15), threading.Event())
            assert stats.alarms == 1 and link.wait_for_drained(WAIT_S)
        finally:
            link.close()
            outbox.close()

        card = "#alarms article.alarm[data-status=pending]"
        shown_at = int(wait.until(lambda d: attribute(card, "data-shown-at")))
        print(f"\nCCTV alarm on the operator's screen {shown_at - handed_ms} ms after the node's last frame")
        assert js("return window.__sameDocument;") == "yes"  # pushed, not reloaded
        wait.until(lambda d: attribute("#sound-state", "data-playing") == "yes")
        text = js(f"return document.querySelector({card!r}).textContent;")
        assert "BARACK OBAMA" in text and "pencegahan" in text and "threshold 0.450" in text and "Hall C" in text
        # The captured face beside the watchlist photo, decoded by the browser; the track's frames.
        wait.until(lambda d: js(f"return [...document.querySelectorAll('{card} img.face')]"
                                ".filter(i => i.complete && i.naturalWidth > 0).length;") >= 2)
        assert js(f"return document.querySelector('{card} img.watchlist') !== null;")
        assert js(f"return document.querySelectorAll('{card} .track img').length;") >= 3

        click(f"{card} button.ack")
        wait.until(lambda d: attribute("#sound-state", "data-playing") == "no")
        click(f"{card} input[name=flag_gates]")
        click(f"{card} button.confirm")
        decided = "#decided article.alarm[data-status=confirmed]"
        wait.until(lambda d: attribute(f"{decided} .case-clock", "data-step") == "examine")
        first = int(attribute(f"{decided} .case-clock .elapsed", "data-elapsed-s"))
        wait.until(lambda d: int(attribute(f"{decided} .case-clock .elapsed", "data-elapsed-s") or 0) > first)
        case_id = int(attribute(f"{decided} .case-clock", "data-case-id"))

        # SOP it-05 steps 3 and 4: the officer examines the passenger and reports.
        browser.get(f"{url}/cases/{case_id}")
        wait.until(lambda d: "CCTV face-recognition alarm" in d.find_element(By.ID, "why").text)
        browser.find_element(By.NAME, "findings").send_keys("Passport UI000001 checked at counter 4")
        click("form.step button[type=submit]")
        report = registry().get("it-05-cctv-alarm").step("report").action_en
        wait.until(lambda d: report in d.find_element(By.ID, "clock").text)
        click("form.step button[type=submit]")
        wait.until(lambda d: d.find_elements(By.ID, "not-your-step"))  # step 5 is the Kasi's

        # Steps 5 and 6: the Kasi Unit TPI confirms the identity and holds the passenger.
        click("form[action$='/logout'] button")  # log out
        _log_in(browser, url, kasi, next_path="/console")
        # The confirmation reached the supervisors' console as a critical alert.
        wait.until(lambda d: "OBAMA" in (attribute("#alerts tr[data-kind=cctv_confirmed]", "class") is not None
                                         and js("return document.querySelector('#alerts tr[data-kind=cctv_confirmed]')"
                                                ".textContent;") or ""))
        browser.get(f"{url}/cases/{case_id}")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button.answer[value=identical]"))
        click("button.answer[value=identical]")
        wait.until(lambda d: d.find_elements(By.NAME, "chronology"))
        browser.find_element(By.NAME, "chronology").send_keys("Seen by CCTV Hall C, confirmed, held at 10:42")
        click("form.step button[type=submit]")
        wait.until(lambda d: "held: departure prevented" in d.page_source)

        with database.session() as session:
            case = session.get(Case, case_id)
            assert (case.workflow_id, case.status, case.outcome) == ("it-05-cctv-alarm", "closed",
                                                                     "held: departure prevented")
            steps = [s["step_id"] for s in case.state["history"]]
            assert steps == ["examine", "report", "kasi_check", "hold"]
            alarm = session.scalar(select(CctvAlarmRecord).where(CctvAlarmRecord.camera_id == camera_id))
            assert (alarm.status, alarm.decided_by, alarm.case_id) == ("confirmed", operator, case_id)
            assert session.scalar(select(Alert).where(Alert.kind == "cctv_confirmed")).details["case_id"] == case_id
            mine = set(session.scalars(select(AuditEntry.action).where(AuditEntry.username == operator)))
            assert {"cctv_alarm_view", "cctv_alarm_acknowledge", "cctv_alarm_confirm", "case_step_completed"} <= mine
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE" and e["source"] != "network"]
        assert not errors, errors
    clear_retained(broker, [FACE_LIST_NOTICE, face_snapshot_topic(1, 0), face_delta_topic(1),
                            camera_health(camera_id)])


def _until(predicate, timeout_s: float = WAIT_S) -> bool:  # type: ignore[no-untyped-def]
    tick = threading.Event()
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return True
        tick.wait(0.1)
    return predicate()


def _add_user(database, role: str) -> str:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    from central.models import User

    username = f"{role}-{uuid.uuid4().hex[:6]}"
    hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(ui.PASSWORD)
    with database.session() as session:
        session.add(User(username=username, role=role, password_hash=hashed, active=True))
        session.commit()
    return username


def _log_in(driver, base_url: str, username: str, next_path: str = "/") -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/login?next={next_path}")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(ui.PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
