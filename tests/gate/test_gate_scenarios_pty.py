"""Every named scenario end to end through the door board firmware behind a pty pair.

The gate runtime drives ``DoorBoardGateHardware`` over a real pty; the firmware (on CPython with
the fake ``machine``) runs the simulated door plant; the travelers' bodies, the fire alarm and
the jams act on the plant's inputs. Edge and firmware share one stepped fake clock, so nothing
here sleeps and every run is the same. Invariants are checked on the gate's trace and on the
plant's physical history (``LockstepDoorBoard.samples``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from edge.gate.runtime import TraceRecord
from edge.hardware.errors import SimulationError
from protocol.messages import GateEvent
from simulators.cli import main as sim_main
from simulators.devices.doorboard_lockstep import PlantSample
from simulators.scenarios import SCENARIOS, ScenarioResult, SimWorld, play, run_scenario

EXPECTED = {
    "happy": "crossed",
    "unreadable": "document_unreadable",
    "expired": "document_invalid",
    "cekal": "released_to_officer",
    "finger-retry-pass": "crossed",
    "finger-fail-counter": "referred_to_counter",
    "face-fail-counter": "referred_to_counter",
    "tailgating": "tailgating",
    "emergency-while-held": "emergency",
    "central-offline": "crossed",
}


@dataclass
class Seen:
    """One trace record with what the machine and the link held at that moment."""

    record: TraceRecord
    alarm: str | None
    acknowledged: int  # alarm_acknowledged events published so far
    released: int  # held_released events published so far


@dataclass
class PtyRun:
    result: ScenarioResult
    samples: list[PlantSample]
    events: list[GateEvent]
    seen: list[Seen]


def _run(name: str) -> PtyRun:
    world = SimWorld(hardware_kind="doorboard")
    seen: list[Seen] = []

    def observe(record: TraceRecord) -> None:
        seen.append(
            Seen(record, world.machine.alarm, len(world.events("alarm_acknowledged")), len(world.events("held_released")))
        )

    world.runtime.add_observer(observe)
    try:
        result = play(world, name)
    finally:
        world.close()
    assert world.board is not None
    return PtyRun(result, list(world.board.samples), world.events(), seen)


@pytest.fixture(scope="module")
def runs() -> dict[str, PtyRun]:
    """Each scenario once through the firmware (about half a second each)."""
    return {name: _run(name) for name in EXPECTED}


def _at(samples: list[PlantSample], t_s: float) -> PlantSample:
    """The plant as it was at time ``t_s``."""
    t_ms = round(t_s * 1000)
    return [s for s in samples if s.t_ms <= t_ms][-1]


def test_all_required_scenarios_exist() -> None:
    assert set(EXPECTED) <= set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_outcome_through_the_firmware(runs: dict[str, PtyRun], name: str) -> None:
    result = runs[name].result
    assert result.outcome == EXPECTED[name]
    assert result.summary["final_state"] == "idle"
    assert result.summary["metrics"]["unsafe_commands_suppressed"] == 0
    assert result.summary["metrics"]["internal_errors"] == 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_never_both_doors_open_unless_released(runs: dict[str, PtyRun], name: str) -> None:
    """On the gate's picture and on the plant itself: both leaves off their closed stops only after
    the fire alarm released them (they stay open until the reset closes them)."""
    run = runs[name]
    released = False
    for record in run.result.trace:
        released = released or record.state == "emergency"
        if record.entry == "open" and record.exit == "open":
            assert released, record
        else:
            released = record.state == "emergency"
    released = False
    for sample in run.samples:
        released = released or sample.fire_alarm
        if sample.entry_travel > 0 and sample.exit_travel > 0:
            assert released, sample
        elif sample.entry_travel == 0 and sample.exit_travel == 0:
            released = sample.fire_alarm
        assert not (sample.entry_locked and 0 < sample.entry_travel), sample  # never driven against the lock
        assert not (sample.exit_locked and 0 < sample.exit_travel), sample


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_trace_as_the_in_process_gate(runs: dict[str, PtyRun], name: str) -> None:
    """The firmware path is faithful: the gate sees exactly what SimulatedGateHardware shows it."""
    simulated = run_scenario(name)
    assert [r.as_dict() for r in runs[name].result.trace] == [r.as_dict() for r in simulated.trace]
    assert runs[name].result.summary == simulated.summary


def test_doors_moved_only_when_the_document_was_accepted(runs: dict[str, PtyRun]) -> None:
    for name in ("unreadable", "expired"):
        assert all(s.entry_travel == 0 and s.exit_travel == 0 for s in runs[name].samples), name
    for name in ("happy", "finger-retry-pass", "central-offline"):
        samples = runs[name].samples
        assert any(s.entry_travel == 1.0 for s in samples) and any(s.exit_travel == 1.0 for s in samples), name
        assert samples[-1].entry_travel == 0 and samples[-1].exit_travel == 0, name
    for name in ("finger-fail-counter", "face-fail-counter", "tailgating"):
        samples = runs[name].samples  # back out through the entry; the exit never opened
        assert any(s.entry_travel == 1.0 for s in samples) and not any(s.exit_travel > 0 for s in samples), name


def test_cekal_holds_with_both_locks_and_an_alarm_until_an_audited_release(runs: dict[str, PtyRun]) -> None:
    run = runs["cekal"]
    held = [s for s in run.seen if s.record.state == "held"]
    assert held, "the traveler was never held"
    start = held[0].record.t
    leave = next(s.record.t for s in run.seen if s.record.t > start and s.record.state != "held")
    for t in (start + 0.05, (start + leave) / 2, leave - 0.01):
        sample = _at(run.samples, t)
        assert sample.entry_locked and sample.exit_locked, sample
        assert sample.entry_travel == 0 and sample.exit_travel == 0, sample
    # the alarm stands until a supervisor acknowledges it, and the hold ends only by a release
    assert all(s.alarm is not None or s.acknowledged > 0 for s in held)
    assert held[0].alarm == "cekal_identik"
    leaving = next(s for s in run.seen if s.record.t == leave)
    assert leaving.record.event == "release_held" and leaving.record.state_from == "held"
    assert all(s.released == 0 for s in held)
    raised = [e for e in run.events if e.event == "alarm_raised" and e.reason == "cekal_identik"]
    release = [e for e in run.events if e.event == "held_released"]
    assert raised and len(release) == 1
    assert release[0].details["issued_by"] and release[0].reason and release[0].reason.strip()
    names = [e.event for e in run.events]
    assert names.index("alarm_raised") < names.index("alarm_acknowledged") < names.index("held_released")
    assert run.result.summary["release_without_reason_refused"] is True


def test_fire_alarm_releases_a_held_traveler_through_the_board(runs: dict[str, PtyRun]) -> None:
    run = runs["emergency-while-held"]
    summary: dict[str, Any] = run.result.summary
    assert summary["doors_at_release"] == {"entry": "open", "exit": "open"}
    assert "emergency_held_released" in summary["alarms_raised"]
    assert summary["back_in_service"] is True
    alarm_on = next(s for s in run.samples if s.fire_alarm)
    before = _at(run.samples, alarm_on.t_ms / 1000 - 0.001)
    assert before.entry_locked and before.exit_locked  # held: both locked when the alarm came
    opened = [s for s in run.samples if s.fire_alarm and s.entry_travel == 1.0 and s.exit_travel == 1.0]
    assert opened and not opened[0].entry_locked and not opened[0].exit_locked
    assert opened[0].t_ms - alarm_on.t_ms <= 1010  # the board swung both open within one stroke
    assert all(s.lights == (0, 0, 1, 1) for s in run.samples if s.fire_alarm)  # the panel shows the alarm
    held = [s for s in run.seen if s.record.state == "held"]
    assert held and all(s.alarm is not None or s.acknowledged > 0 for s in held)


def test_tailgating_is_seen_by_the_board_beams(runs: dict[str, PtyRun]) -> None:
    run = runs["tailgating"]
    assert run.result.summary["alarm_raised"] is True
    assert [e.reason for e in run.events if e.event == "alarm_raised"] == ["tailgating"]


def test_central_offline_still_drives_the_doors(runs: dict[str, PtyRun]) -> None:
    """Central's link is not the door board's: the doors run as usual, events wait in the outbox."""
    summary = runs["central-offline"].result.summary
    assert summary["second_traveler"] == "referred_to_counter"
    assert summary["queued_while_offline"] > 0
    assert summary["delivered_after_reconnect"] == summary["queued_while_offline"]


def test_pty_runs_are_deterministic() -> None:
    a = run_scenario("tailgating", hardware="doorboard")
    b = run_scenario("tailgating", hardware="doorboard")
    assert [r.as_dict() for r in a.trace] == [r.as_dict() for r in b.trace]


def test_cli_runs_a_scenario_on_the_door_board(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_main(["run", "--scenario", "cekal", "--hardware", "doorboard", "--json"]) == 0
    *trace, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert summary["scenario"] == "cekal" and summary["outcome"] == "released_to_officer"
    assert summary["hardware"] == "doorboard"
    assert trace and all({"t", "state", "entry", "exit", "event"} <= set(r) for r in trace)
    assert [r["t"] for r in trace] == sorted(r["t"] for r in trace)


def test_unknown_hardware_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown hardware kind"):
        SimWorld(hardware_kind="gpio")
    with pytest.raises(SystemExit):
        sim_main(["run", "--scenario", "happy", "--hardware", "gpio"])


def test_a_jammed_entry_door_faults_the_gate_through_the_board() -> None:
    """A jam is physical: the leaf stalls in the plant, the board stops the motor and reports it."""
    world = SimWorld(hardware_kind="doorboard")
    try:
        world.body.jam_door("entry")
        assert world.driver.run_traveler(world.traveler()) == "fault"
        world.driver.advance(0.5)  # the board's own move timeout (3 s) follows the gate's door timer
        assert world.board is not None
        assert "entry:board" in world.hardware.faults  # type: ignore[union-attr]
        assert world.board.board.doors[0].motor_open.value() == 0
        assert all(s.entry_travel == 0 for s in world.board.samples)
    finally:
        world.close()


class PtyGateWorld(RuleBasedStateMachine):
    """Travelers, supervisors, fire alarms and jams at random, through the firmware on the pty;
    the invariants are checked on the plant itself as well as on the gate's picture."""

    def __init__(self) -> None:
        super().__init__()
        self.world = SimWorld(seed=5, hardware_kind="doorboard")
        assert self.world.board is not None
        self.board = self.world.board
        self.body = self.world.body
        self.rt = self.world.runtime
        self.world.watchlist.identical["C7654321"] = "cekal-x"
        self.checked = 0
        self.released = False

    def teardown(self) -> None:
        self.world.close()

    @precondition(lambda self: self.rt.state == "idle")
    @rule(cekal=st.booleans(), finger=st.sampled_from(["genuine", "mismatch"]))
    def journey(self, cekal: bool, finger: str) -> None:
        overrides: dict[str, object] = {"finger_samples": (finger,)}
        if cekal:
            overrides["document_number"] = "C7654321"
        try:
            self.world.driver.run_traveler(self.world.traveler(**overrides))
        except (RuntimeError, SimulationError):
            pass  # a jammed door can stop the walk; the invariants still apply

    @rule(who=st.sampled_from(["enter", "exit", "back", "tailgate"]))
    def walk(self, who: str) -> None:
        act = {
            "enter": self.body.person_enters,
            "exit": self.body.person_exits,
            "back": self.body.person_backs_out,
            "tailgate": self.body.tailgate,
        }[who]
        try:
            act()
        except SimulationError:
            pass  # the door is not open or nobody is inside: nothing happened

    @rule(seconds=st.sampled_from([0.3, 1.0, 2.5, 25.0]))
    def wait(self, seconds: float) -> None:
        self.world.driver.advance(seconds)

    @rule(action=st.sampled_from(["release_held", "acknowledge_alarm", "reset", "back_in_service"]),
          reason=st.sampled_from(["", "checked by officer"]))  # fmt: skip
    def supervisor(self, action: str, reason: str) -> None:
        self.world.driver.command(action, reason=reason)

    @rule(active=st.booleans())
    def fire_alarm(self, active: bool) -> None:
        was = self.rt.state
        self.body.fire_alarm(active)
        if active and was != "emergency":
            assert self.rt.state == "emergency"
            self.world.driver.advance(1.1)
            plant = self.board.plant
            for door in ("entry", "exit"):
                if not plant.leaves[door].jammed:
                    assert plant.position(door) == 1.0 and not plant.is_locked(door), door

    @rule(door=st.sampled_from(["entry", "exit"]), jammed=st.booleans())
    def jam(self, door: str, jammed: bool) -> None:
        self.body.jam_door(door, jammed)

    @invariant()
    def plant_never_both_open_without_the_fire_alarm(self) -> None:
        self.board.settle()
        for sample in self.board.samples[self.checked :]:
            # doors the fire alarm released stay open until both are closed again (after the reset)
            self.released = self.released or sample.fire_alarm
            if sample.entry_travel > 0 and sample.exit_travel > 0:
                assert self.released, sample
            elif sample.entry_travel == 0 and sample.exit_travel == 0:
                self.released = sample.fire_alarm
            assert not (sample.entry_locked and sample.entry_travel > 0), sample
            assert not (sample.exit_locked and sample.exit_travel > 0), sample
        self.checked = len(self.board.samples)

    @invariant()
    def held_has_alarm_or_audit(self) -> None:
        if self.rt.state == "held":
            txn = self.world.machine.transaction
            assert self.world.machine.alarm == "cekal_identik" or (txn is not None and txn.acknowledged_by)


TestPtyGateWorld = PtyGateWorld.TestCase
TestPtyGateWorld.settings = settings(
    max_examples=10,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,  # the same examples on every run, so CI is reproducible
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_edge_heartbeat_runs_on_the_shared_clock() -> None:
    """Fake minutes pass in a blink: real-time pings would let the board's 1.5 s watchdog fire."""
    world = SimWorld(hardware_kind="doorboard")
    try:
        assert world.board is not None
        world.driver.advance(60)
        assert world.board.board.edge_lost is False
        assert world.hardware.faults == {}  # type: ignore[union-attr]
        assert world.body.door_positions == {"entry": "closed", "exit": "closed"}
        assert not world.board.plant.is_locked("entry")  # the watchdog would have locked it
        world.hardware.close()  # type: ignore[union-attr]
        world.driver.advance(2)  # no edge: the board's watchdog makes the doors safe
        assert world.board.board.edge_lost is True
        assert world.board.plant.is_locked("entry") and world.board.plant.is_locked("exit")
    finally:
        world.close()


def test_fire_alarm_reverses_a_door_that_has_just_started_closing() -> None:
    """A fire alarm in the very instant a close starts (the leaf still on its open stop) must
    reverse it: release_all once skipped such a door and let both doors close under the alarm."""
    world = SimWorld(hardware_kind="doorboard")
    try:
        assert world.board is not None
        world.body.fire_alarm(True)
        world.driver.advance(1.1)
        world.body.fire_alarm(False)
        assert world.driver.command("reset", reason="drill over")  # both doors start closing
        world.body.fire_alarm(True)  # before either leaf has left its open stop
        world.driver.advance(1.1)
        assert world.board.plant.position("entry") == 1.0 and world.board.plant.position("exit") == 1.0
    finally:
        world.close()


def test_the_same_alarm_after_the_close_has_begun_releases_both_doors() -> None:
    """The companion case: 50 ms into the close, the board reverses both doors."""
    world = SimWorld(hardware_kind="doorboard")
    try:
        assert world.board is not None
        world.body.fire_alarm(True)
        world.driver.advance(1.1)
        world.body.fire_alarm(False)
        assert world.driver.command("reset", reason="drill over")
        world.driver.advance(0.05)
        world.body.fire_alarm(True)
        world.driver.advance(1.1)
        assert world.board.plant.position("entry") == 1.0 and world.board.plant.position("exit") == 1.0
        assert world.runtime.state == "emergency"
    finally:
        world.close()
