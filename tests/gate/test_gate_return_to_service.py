"""After a release or a referral the gate returns to service on its own, and it tells the console
which commands it would accept (issue 19, items 1 and 3).

Without these, a released traveller left the gate in ``return_to_counter`` for good (the demo's
traveller stopped walking at the hold), the console offered "Out of service" there and the gate
refused it, and the supervisor saw no scores for the biometric that failed.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from gate_harness import Harness

from edge.gate.config import GateConfig
from edge.gate.events import FacePresented, FaceResult, PersonEvent
from edge.gate.machine import GateMachine
from edge.gate.runtime import GateRuntime
from edge.gate.recognition import Recognition, Verdict, listed
from edge.hardware.clock import ManualScheduler
from edge.hardware.simulated import SimulatedGateHardware
from edge.link.base import MemoryLink
from protocol.messages import BiometricResult, FaceEvidence, GateEvent, GateState
from simulators.travelers import GateDriver, make_traveler


@pytest.fixture
def harness() -> Harness:
    return Harness(GateMachine(GateConfig(gate_id="t-rts", walk_out_timeout_s=30)))


def _held(h: Harness) -> None:
    h.scan(level="identical")
    h.walk_in()
    assert h.state == "held"


def _published_states(h: Harness) -> list[GateState]:
    return [d_effect.state for d in h.decisions for d_effect in d.effects if type(d_effect).__name__ == "PublishState"]


def test_released_traveller_walks_out_and_the_gate_is_idle_again(harness: Harness) -> None:
    _held(harness)
    harness.command("release_held", reason="officer escorts the traveller")
    assert harness.state == "return_to_counter" and harness.machine.doors["entry"] == "open"
    harness.back_out()  # the beams see the traveller leave through the entry
    assert harness.state == "idle"
    assert harness.machine.doors["entry"] == "closed"


def test_lane_clear_returns_a_gate_whose_beams_still_count_someone(harness: Harness) -> None:
    """The beams missed the traveller leaving: the supervisor's "lane clear" ends the wait."""
    _held(harness)
    harness.command("release_held", reason="officer escorts the traveller")
    harness.advance(31_000)  # nobody counted out: the gate reports the lingering traveller
    assert harness.state == "return_to_counter"
    assert harness.events("traveler_lingering")
    assert "lane_clear" in harness.machine.accepted_commands()
    decision = harness.command("lane_clear", reason="I see the lane empty")
    assert decision.accepted
    assert harness.state == "idle" and harness.machine.occupants == 0
    [cleared] = harness.events("lane_cleared")
    assert cleared.details["issued_by"] == "spv-1" and cleared.details["occupants_counted"] == 1


def test_lane_clear_after_a_referral_closes_the_open_entry_first(harness: Harness) -> None:
    harness.scan()
    harness.walk_in()
    harness.finger(match=False)
    harness.command("send_to_counter", reason="counter check")
    assert harness.state == "return_to_counter" and harness.machine.doors["entry"] == "open"
    harness.command("lane_clear", reason="lane empty")
    assert harness.state == "idle" and harness.machine.doors["entry"] == "closed"


@pytest.mark.parametrize(
    ("setup", "offered", "not_offered"),
    [
        ("idle", {"out_of_service"}, {"release_held", "lane_clear", "back_in_service"}),
        ("held", {"release_held", "acknowledge_alarm"}, {"out_of_service", "grant_retry"}),
        ("released", {"lane_clear"}, {"out_of_service", "release_held"}),
        ("finger_failed", {"grant_retry", "send_to_counter"}, {"out_of_service", "lane_clear"}),
        ("out_of_service", {"back_in_service", "reset"}, {"out_of_service"}),
    ],
)
def test_the_gate_offers_only_the_commands_its_state_accepts(harness: Harness, setup: str, offered: set[str],
                                                             not_offered: set[str]) -> None:
    harness.decisions.append(harness.machine.start(0))
    if setup == "held":
        _held(harness)
    elif setup == "released":
        _held(harness)
        harness.command("release_held", reason="escort")
    elif setup == "finger_failed":
        harness.scan()
        harness.walk_in()
        harness.finger(match=False)
    elif setup == "out_of_service":
        harness.command("out_of_service", reason="cleaning")
    commands = set(harness.machine.gate_state(harness.now_ms).commands)
    assert offered <= commands and not (not_offered & commands)
    published = _published_states(harness)[-1]
    assert set(published.commands) == commands


def test_a_door_arriving_republishes_the_state_so_the_console_sees_back_in_service(harness: Harness) -> None:
    harness.command("out_of_service", reason="cleaning")
    harness.doors_answer = False
    harness.machine._doors["entry"] = "open"  # an officer opened it by hand for cleaning
    harness.command("reset", reason="close the doors")
    assert "back_in_service" not in harness.machine.accepted_commands()
    from edge.gate.events import DoorEvent

    harness.send(DoorEvent("door_closed", "entry"))
    assert "back_in_service" in _published_states(harness)[-1].commands
    assert _published_states(harness)[-1].entry_door == "closed"


def test_supervisor_sees_each_biometrics_score_and_threshold(harness: Harness) -> None:
    harness.scan()
    harness.walk_in()
    harness.finger(match=True)
    harness.face(match=False)
    [notified] = harness.events("supervisor_notified")
    details = notified.details
    assert details["step"] == "face"
    assert (details["fingerprint_match"], details["fingerprint_score"]) == (True, 0.9)
    assert (details["face_match"], details["face_score"]) == (False, 0.1)
    assert "fingerprint_threshold" in details and "face_threshold" in details


def test_held_traveller_face_is_checked_for_the_officer_without_deciding_anything(harness: Harness) -> None:
    _held(harness)
    harness.send(FacePresented())
    assert harness.requests[-1] == "verify_face"
    harness.send(FaceResult(BiometricResult(modality="face", match=True, score=0.71, threshold=0.42)))
    assert harness.state == "held"
    [checked] = harness.events("hold_face_checked")
    assert checked.details == {"face_match": True, "face_score": 0.71, "face_threshold": 0.42}


class _FaceWithEvidence:
    """A face verifier that matches and hands images only when asked for evidence."""

    def __init__(self) -> None:
        self.asked: list[bool] = []

    def verify(self, sample, traveler, *, document=None, evidence=False):
        self.asked.append(evidence)
        result = BiometricResult(modality="face", match=True, score=0.8, threshold=0.4)
        if not evidence:
            return Verdict(result)
        return Verdict(result, captured_jpeg=b"\xff\xd8\xff captured", enrolled_jpeg=b"\xff\xd8\xff doc",
                       enrolled_source="document")


def test_runtime_sends_a_held_travellers_face_even_when_it_matches() -> None:
    scheduler = ManualScheduler()
    hardware = SimulatedGateHardware(scheduler=scheduler)
    link = MemoryLink()
    traveler = make_traveler(random.Random(3), 1, today=date(2026, 1, 1))
    face = _FaceWithEvidence()
    runtime = GateRuntime(GateMachine(GateConfig(gate_id="t-hold")), hardware=hardware, link=link,
                          recognition=Recognition(watchlist=listed([traveler.document_number]), face=face,
                                                  today=lambda: date(2026, 1, 1)),
                          scheduler=scheduler)
    runtime.start()
    driver = GateDriver(runtime, hardware, scheduler)
    assert driver.run_traveler(traveler) == "held"
    assert face.asked == [True]
    [evidence] = [p for p in link.events if isinstance(p, FaceEvidence)]
    assert evidence.score == 0.8 and evidence.enrolled_source == "document"
    assert [p for p in link.events if isinstance(p, GateEvent) and p.event == "hold_face_checked"]


def test_the_demo_traveller_waits_for_the_release_then_leaves_and_the_gate_serves_again() -> None:
    scheduler = ManualScheduler()
    hardware = SimulatedGateHardware(scheduler=scheduler)
    link = MemoryLink()
    rng = random.Random(7)
    held = make_traveler(rng, 1, today=date(2026, 1, 1))
    runtime = GateRuntime(GateMachine(GateConfig(gate_id="t-demo")), hardware=hardware, link=link,
                          recognition=Recognition(watchlist=listed([held.document_number]),
                                                  today=lambda: date(2026, 1, 1)),
                          scheduler=scheduler)
    runtime.start()
    driver = GateDriver(runtime, hardware, scheduler)
    # The officer releases 20 s into the hold, from another thread of control: here a timer.
    scheduler.call_later(20.0, lambda: driver.command("release_held", reason="escorted to the office"))
    assert driver.run_traveler(held, stop_when_held=False) == "released_to_officer"
    assert runtime.state == "idle" and hardware.people_inside == 0
    nxt = make_traveler(rng, 2, today=date(2026, 1, 1), finger_samples=("genuine",), face_samples=("genuine",),
                        expired=False, foreign=False)
    assert driver.run_traveler(nxt) == "crossed"
