"""A supervisor's shift in headless Chromium (issue 19, items 1-3): the console offers only the
commands the gate accepts and shows the gate's refusal; one hold is one alarm, and an answered
alarm clears itself and silences the sound; the alarm card shows the evidence to decide on.

Each test failed before the fix: the console offered "Out of service" in return_to_counter and
never showed the refusal; a hold raised three alerts and the sound ran until each was
acknowledged; the card showed two "No image yet" boxes, no score and the entry's id only.
"""

from __future__ import annotations

import cv2
import numpy as np
import ui_harness as ui
from sqlalchemy import select

from central.models import Alert, CommandRecord
from central.watchlists.models import WatchlistEntryRow
from protocol import FaceEvidence, GateEvent
from protocol.messages import CommandAck


def _console(central, page, gate_id: str) -> None:
    ui.log_in_as(page.driver, central.url, central.add_user("supervisor"), next_path="/console")
    page.until(lambda: page.attribute("#link-mode", "data-mode") == "live")
    page.until(lambda: page.count(f"#gate-{gate_id}") == 1)


def test_only_accepted_commands_are_offered_and_a_refusal_is_shown(central, page) -> None:
    gate = central.add_gate("gt-sh01")
    central.ingest(ui.state(gate, "return_to_counter", transaction_id="tx-1", commands=("lane_clear",),
                            traveler=ui.HELD_TRAVELER, entry="open", exit_="locked"))
    _console(central, page, "gt-sh01")
    page.until(lambda: page.count("#gate-gt-sh01 form.action") == 1)
    assert page.attribute("#gate-gt-sh01 form.action", "data-action") == "lane_clear"
    assert page.count("#gate-gt-sh01 form[data-action=out_of_service]") == 0

    page.command("gt-sh01", "lane_clear", "Lane checked on CCTV: empty")
    page.until(lambda: "waiting for the gate" in page.text("#gate-gt-sh01 .command-pending"))
    with central.database.session() as session:
        (sent,) = session.scalars(select(CommandRecord)).all()
    # The gate was quicker than the supervisor: it had gone idle and refuses.
    central.ingest(gate.event(CommandAck(command_id=sent.command_id, accepted=False,
                                         reason="lane_clear not allowed in idle", state_after="idle")))
    central.ingest(ui.state(gate, "idle", commands=("out_of_service",)))
    page.until(lambda: "Refused by the gate" in page.text("#gate-gt-sh01 .command-refused"))
    refusal = page.text("#gate-gt-sh01 .command-refused")
    assert "Lane clear" in refusal and "idle" in refusal and "lane_clear" not in refusal
    page.until(lambda: page.attribute("#gate-gt-sh01 form.action", "data-action") == "out_of_service")
    assert not page.script_errors()


def test_one_hold_is_one_alarm_and_the_release_clears_it_and_the_sound(central, page) -> None:
    gate = central.add_gate("gt-sh02")
    central.ingest(ui.idle_state(gate))
    _console(central, page, "gt-sh02")
    # Everything a real gate reports for one hold: the state change, the alarm, the held state.
    central.ingest(gate.event(GateEvent(event="door_closed", transaction_id="tx-2", state_from="entry_open",
                                        state_to="held", traveler=ui.HELD_TRAVELER)))
    hold, held = ui.hold_messages(gate, "tx-2")
    central.ingest(hold)
    central.ingest(held)
    page.until(lambda: page.attribute("#sound-state", "data-playing") == "yes")
    assert page.count("#alarm-banner .alarm") == 1
    assert page.count("#alerts tbody tr") == 1

    # Released at the gate (another supervisor, or this one's command): the gate reports it,
    # the traveller is referred on, and the alarm clears itself; nobody clicks "acknowledge".
    central.ingest(gate.event(GateEvent(event="held_released", transaction_id="tx-2", reason="escorted",
                                        details={"issued_by": "spv-rina", "command_id": "c1"})))
    central.ingest(gate.event(GateEvent(event="referral_recorded", transaction_id="tx-2", reason="cekal_identik")))
    page.until(lambda: page.js("return document.querySelector('#alarm-banner').hidden;"))
    page.until(lambda: page.attribute("#sound-state", "data-playing") == "no")
    page.until(lambda: "spv-rina" in page.text("#alerts tbody tr"))
    assert page.count("#alerts tbody tr") == 1
    with central.database.session() as session:
        (alert,) = session.scalars(select(Alert)).all()
        assert alert.acknowledged_by == "spv-rina"


def _jpeg(shade: int) -> bytes:
    return cv2.imencode(".jpg", np.full((160, 128, 3), shade, np.uint8))[1].tobytes()


def test_the_hold_card_shows_the_entry_the_held_face_and_its_score(central, page) -> None:
    with central.database.session() as session:
        session.add(WatchlistEntryRow(entry_id="DPO-2026-0042 (departure ban)", list_name="pencegahan",
                                      agency="Komisi Pemberantasan Korupsi", reason="Tersangka tindak pidana korupsi",
                                      version=1))
        session.commit()
    gate = central.add_gate("gt-sh03")
    central.ingest(ui.idle_state(gate))
    _console(central, page, "gt-sh03")
    for delivery in ui.hold_messages(gate, "tx-3"):
        central.ingest(delivery)
    page.until(lambda: "Waiting for the gate camera" in page.text("#gate-gt-sh03 .evidence"))
    # The camera inside the gate shows the officer who is held, beside the passport's photo.
    central.ingest(gate.event(FaceEvidence(transaction_id="tx-3", captured_jpeg=_jpeg(70), enrolled_jpeg=_jpeg(180),
                                           enrolled_source="document", score=0.612, threshold=0.363)))
    page.until(lambda: page.count("#gate-gt-sh03 .faces img") == 2)
    evidence = page.text("#gate-gt-sh03 .evidence")
    for expected in ("Departure ban (pencegahan)", "Komisi Pemberantasan Korupsi", "Tersangka tindak pidana korupsi",
                     "Captured face", "Document photo"):
        assert expected in evidence, expected
    face = page.text("#gate-gt-sh03 dd.score-face")
    assert "0.612" in face and "0.363" in face and "match" in face
    assert page.count("#gate-gt-sh03 dd.score-fingerprint") == 0  # a hold stops before the finger
    banner = page.text("#alarm-banner")
    assert "Komisi Pemberantasan Korupsi" in banner and "Departure ban" in banner
    assert "No image yet" not in page.text("#gates")


def test_a_mismatch_card_names_the_failed_biometric_with_its_score_and_threshold(central, page) -> None:
    gate = central.add_gate("gt-sh04")
    central.ingest(ui.idle_state(gate))
    _console(central, page, "gt-sh04")
    central.ingest(gate.event(GateEvent(
        event="supervisor_notified", transaction_id="tx-4", reason="fingerprint_mismatch", traveler=ui.HELD_TRAVELER,
        details={"step": "fingerprint", "retries_used": 0, "retries_left": 2, "fingerprint_match": False,
                 "fingerprint_score": 0.081, "fingerprint_threshold": 0.294})))
    central.ingest(ui.state(gate, "awaiting_supervisor", transaction_id="tx-4", traveler=ui.HELD_TRAVELER,
                            commands=("grant_retry", "send_to_counter")))
    page.until(lambda: "0.081" in page.text("#gate-gt-sh04 dd.score-fingerprint"))
    finger = page.text("#gate-gt-sh04 dd.score-fingerprint")
    assert "0.294" in finger and "no match" in finger
    assert "failed" in page.attribute("#gate-gt-sh04 dd.score-fingerprint", "class")
    assert "not checked yet" in page.text("#gate-gt-sh04 dd.score-face")
    actions = page.js("return [...document.querySelectorAll('#gate-gt-sh04 form.action')].map(f => f.dataset.action);")
    assert actions == ["grant_retry", "send_to_counter"]
    assert "No image yet" not in page.text("#gates")
