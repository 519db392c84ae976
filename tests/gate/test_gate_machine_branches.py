"""One case per SOP branch (B1-B7 and the safety paths) through the pure machine."""

from __future__ import annotations

import pytest
from gate_harness import TRAVELER, Harness  # type: ignore[import-not-found]

from edge.gate import effects as fx
from edge.gate.config import GateConfig
from edge.gate.events import (
    DocumentPresented,
    EmergencyInput,
    FaultInput,
    PersonEvent,
    TimerExpired,
)
from edge.gate.machine import GateMachine
from edge.gate.passback import PassbackMemory
from edge.hardware.base import DoorAction


def states(h: Harness) -> list[str]:
    return [d.state.value for d in h.decisions if d.changed]


def outcomes(h: Harness) -> list[str]:
    return [e.reason or "" for e in h.events("transaction_ended")]


def door_commands(h: Harness) -> list[tuple[str, str]]:
    return [(e.command.door, e.command.action.value) for d in h.decisions for e in d.effects if isinstance(e, fx.Door)]


def test_b6_success_records_crossing_with_timings(harness: Harness) -> None:
    """Without this the electronic exit mark (perlintasan) or its step timings could go missing."""
    h = harness
    h.scan()
    h.walk_in()
    h.finger()
    h.face()
    assert h.state == "exit_open"
    assert len(h.crossings) == 1
    record = h.crossings[0]
    assert record.traveler == TRAVELER
    assert record.fingerprint is not None and record.fingerprint.match
    assert record.face is not None and record.face.match
    assert record.watchlist_version == 3
    assert record.timings_ms["document_scan"] == 1000
    assert record.timings_ms["fingerprint"] == 1700
    assert record.timings_ms["face"] == 1000
    assert {"entry_door_open", "entry_door_close", "exit_door_open", "total"} <= set(record.timings_ms)
    h.walk_out()
    assert h.state == "idle"
    assert states(h) == [
        "reading_document",
        "checking",
        "entry_open",
        "inside",
        "fingerprint",
        "face",
        "exit_open",
        "idle",
    ]
    assert outcomes(h) == ["crossed"]
    assert door_commands(h) == [
        ("entry", "open"),
        ("entry", "close"),
        ("exit", "open"),
        ("exit", "close"),
    ]
    assert h.machine.metrics.outcomes["crossed"] == 1
    assert h.machine.metrics.steps["document_scan"].count == 1


@pytest.mark.parametrize(
    ("scan_kwargs", "outcome", "message"),
    [
        ({"traveler": None}, "document_unreadable", "document_unreadable"),  # B1
        ({"accepted": False}, "document_invalid", "document_invalid"),  # B2
    ],
)
def test_b1_b2_entry_door_stays_closed(harness: Harness, scan_kwargs: dict, outcome: str, message: str) -> None:
    """An unreadable or invalid document must never open the entry door (tpi-08 step 3)."""
    harness.scan(**scan_kwargs)
    assert harness.state == "idle"
    assert door_commands(harness) == []
    assert outcomes(harness) == [outcome]
    assert harness.messages[-1] == message


def test_scan_timeout_keeps_entry_closed(harness: Harness) -> None:
    """A reader that never answers must not leave the gate stuck in reading_document."""
    harness.send(DocumentPresented())
    harness.advance(5000)
    assert harness.state == "idle"
    assert outcomes(harness) == ["scan_timeout"]
    assert door_commands(harness) == []


def test_b3_cekal_identik_held_with_alarm_until_acknowledged_and_audited_release(
    harness: Harness,
) -> None:
    """A cekal identik must be let in, locked in with both doors, alarmed, and released only with a reason."""
    h = harness
    h.scan(level="identical")
    h.walk_in()
    assert h.state == "held"
    assert h.machine.doors == {"entry": "locked", "exit": "locked"}
    assert h.machine.alarm == "cekal_identik"
    assert h.messages[-1] == "held"  # discreet: the screen does not announce the match
    h.advance(600_000)  # no timer lets a held traveler go
    assert h.state == "held" and h.machine.alarm == "cekal_identik"
    refused = h.command("release_held", reason="  ")
    assert not refused.accepted and "reason_given" in (refused.rejected or "")
    assert not h.command("send_to_counter").accepted
    assert h.command("acknowledge_alarm", reason="officer coming").accepted
    assert h.machine.alarm is None and h.state == "held"
    release = h.command("release_held", reason="secured by officer", by="spv-7")
    assert release.accepted and h.state == "return_to_counter"
    audit = h.events("held_released")[0]
    assert audit.details["issued_by"] == "spv-7" and audit.reason == "secured by officer"
    assert h.machine.doors["entry"] == "open" and h.machine.doors["exit"] == "locked"
    h.back_out()
    assert h.state == "idle"
    assert outcomes(h) == ["released_to_officer"]
    assert h.crossings == []


@pytest.mark.parametrize("step", ["fingerprint", "face"])
def test_b4_b5_retry_granted_then_pass(harness: Harness, step: str) -> None:
    """A supervisor-granted retry must capture the failed modality again, then continue (steps 5-6)."""
    h = harness
    h.scan()
    h.walk_in()
    if step == "fingerprint":
        h.finger(match=False)
    else:
        h.finger()
        h.face(match=False)
    assert h.state == "awaiting_supervisor"
    note = h.events("supervisor_notified")[-1]
    assert note.reason == f"{step}_mismatch" and note.details["retries_left"] == 2
    assert h.command("grant_retry", reason="try again").accepted
    assert h.state == ("inside" if step == "fingerprint" else "face")
    if step == "fingerprint":
        h.finger()
    h.face()
    assert h.state == "exit_open"
    crossing = h.crossings[0]
    assert (crossing.fingerprint if step == "fingerprint" else crossing.face).attempts == 2  # type: ignore[union-attr]
    assert "supervisor_wait" in crossing.timings_ms


@pytest.mark.parametrize("step", ["fingerprint", "face"])
def test_b4_b5_retries_exhausted_then_counter(harness: Harness, step: str) -> None:
    """The retry limit (2) must hold; send_to_counter reopens the entry and records a referral."""
    h = harness
    h.scan()
    h.walk_in()
    if step == "face":
        h.finger()
    for attempt in range(3):
        if step == "fingerprint":
            h.finger(match=False)
        else:
            h.face(match=False)
        if attempt < 2:
            assert h.command("grant_retry").accepted
    refused = h.command("grant_retry")
    assert not refused.accepted and "retry_left" in (refused.rejected or "")
    assert h.command("send_to_counter", reason="retries exhausted").accepted
    assert h.state == "return_to_counter"
    assert h.machine.doors == {"entry": "open", "exit": "closed"}
    assert h.events("referral_recorded")[0].reason == f"{step}_mismatch"
    h.back_out()
    assert h.state == "idle" and outcomes(h) == ["referred_to_counter"]
    assert h.messages[-1] == "idle"


def test_supervisor_timeout_sends_to_counter(harness: Harness) -> None:
    """With no supervisor decision the traveler must not wait for ever (decided: 60 s)."""
    h = harness
    h.scan()
    h.walk_in()
    h.finger(match=False, unreadable=True)
    assert h.events("supervisor_notified")[-1].reason == "fingerprint_unreadable"
    h.advance(59_000)
    assert h.state == "awaiting_supervisor"
    h.advance(1_000)
    assert h.state == "return_to_counter"


def test_tailgating_stops_the_transaction(harness: Harness) -> None:
    """Two people in the mantrap must stop the transaction, alarm, and send both back."""
    h = harness
    h.scan()
    h.advance(1000)
    h.send(PersonEvent("tailgating", "2 people"))
    assert h.state == "return_to_counter"
    assert h.machine.alarm == "tailgating"
    h.back_out()
    assert h.state == "return_to_counter"  # one is still inside
    h.back_out()
    assert h.state == "idle" and outcomes(h) == ["tailgating"]


def test_anti_passback_refuses_the_same_document_within_the_window() -> None:
    """One passport must not carry two people through within the window, shared across gates."""
    memory = PassbackMemory(window_ms=600_000)
    first = Harness(GateMachine(GateConfig(gate_id="g1"), passback=memory))
    first.scan()
    first.walk_in()
    first.finger()
    first.face()
    first.walk_out()
    assert outcomes(first) == ["crossed"]
    second = Harness(
        GateMachine(GateConfig(gate_id="g2"), passback=memory),
        now_ms=first.now_ms + 60_000,
    )
    second.scan()
    assert outcomes(second) == ["passback_refused"] and door_commands(second) == []
    later = Harness(
        GateMachine(GateConfig(gate_id="g3"), passback=memory),
        now_ms=first.now_ms + 700_000,
    )
    later.scan()
    assert later.state == "entry_open"


def test_impossible_event_is_rejected_typed_logged_and_counted(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A confused device or supervisor must not crash the gate or change its state."""
    decision = harness.command("grant_retry")
    assert not decision.accepted and decision.state.value == "idle"
    assert decision.rejected == "grant_retry not allowed in idle"
    assert harness.machine.metrics.rejected_events["idle:grant_retry"] == 1
    assert "rejected event" in caplog.text


def test_stale_timer_is_ignored(harness: Harness) -> None:
    """A timer that fires after being cancelled must not move the machine."""
    harness.scan()
    decision = harness.send(TimerExpired("scan", 1))
    assert decision.accepted and not decision.changed and harness.state == "entry_open"


def test_door_that_never_arrives_is_a_fault(harness: Harness) -> None:
    """A jammed actuator must put the gate in fault with an alarm, not wait for ever."""
    harness.doors_answer = False
    harness.scan()
    harness.advance(3000)
    assert harness.state == "fault" and harness.machine.alarm == "fault"
    assert outcomes(harness) == ["fault"]


def test_fault_then_reset_and_back_in_service(harness: Harness) -> None:
    """A repaired gate must come back only through reset and back_in_service."""
    h = harness
    h.send(FaultInput(True, "entry", "jam"))
    assert h.state == "fault"
    assert not h.command("reset").accepted  # fault still active
    h.send(FaultInput(False))
    assert h.command("reset", reason="repaired").accepted and h.state == "out_of_service"
    assert h.command("back_in_service").accepted and h.state == "idle"


def test_out_of_service_only_from_idle(harness: Harness) -> None:
    """Taking a gate out of service must not strand a traveler mid-transaction."""
    h = harness
    h.scan()
    assert not h.command("out_of_service").accepted
    h2 = Harness(GateMachine(GateConfig()))
    assert h2.command("out_of_service", reason="cleaning").accepted and h2.state == "out_of_service"
    assert not h2.send(DocumentPresented()).accepted


def test_emergency_while_held_releases_every_door_and_alarms(harness: Harness) -> None:
    """A fire alarm must release even a held traveler, and tell the supervisor so."""
    h = harness
    h.scan(level="identical")
    h.walk_in()
    decision = h.send(EmergencyInput(True, "fire"))
    assert h.state == "emergency"
    assert isinstance(decision.effects[0], fx.ReleaseAll)
    assert h.machine.alarm == "emergency_held_released"
    assert outcomes(h) == ["emergency"]
    assert not h.command("reset").accepted  # the fire alarm input is still active
    h.send(EmergencyInput(False))
    assert h.command("reset", reason="all clear").accepted and h.state == "out_of_service"
    assert h.machine.alarm is None and h.events("gate_reset")[0].details["issued_by"] == "spv-1"


def test_similar_watchlist_hit_continues_and_notifies(harness: Harness) -> None:
    """Decided: only an identical match holds; a similar one is shown to the supervisor."""
    harness.scan(level="similar")
    assert harness.state == "entry_open"
    assert harness.events("watchlist_similar")[0].details["watchlist_entry"] == "w-1"


def test_nobody_walks_in_closes_entry_and_abandons(harness: Harness) -> None:
    """An open entry door with nobody coming must close again and end the transaction."""
    harness.scan()
    harness.advance(20_000)
    assert harness.state == "idle" and outcomes(harness) == ["abandoned"]
    assert door_commands(harness)[-1] == ("entry", DoorAction.CLOSE.value)


class BrokenAdmission(GateMachine):
    """A machine with a bug in one action, to prove a bug cannot kill the gate."""

    def _do_admit(self, event: object, step: object) -> None:
        raise ZeroDivisionError("bug in admit")


def test_internal_error_goes_to_fault_with_alarm_instead_of_raising() -> None:
    h = Harness(BrokenAdmission(GateConfig(gate_id="g1")))
    h.scan()
    assert h.state == "fault"
    assert h.machine.alarm == "internal_error"
    assert h.machine.metrics.internal_errors == 1
    assert outcomes(h) == ["fault"]
    assert door_commands(h) == []
    h.advance(60_000)  # timers started before the error fire into fault and are ignored
    assert h.state == "fault"
