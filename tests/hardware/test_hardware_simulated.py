"""SimulatedGateHardware: the doors, interlocks, people and faults the gate machine relies on."""

from __future__ import annotations

import pytest

from edge.hardware.base import (
    DoorAction,
    DoorCommand,
    HardwareEvent,
    HardwareEventKind as K,
    Indicator,
)
from edge.hardware.clock import ManualScheduler
from edge.hardware.errors import HardwareError, InterlockViolation, SimulationError
from edge.hardware.simulated import SimulatedGateHardware

OPEN, CLOSE, LOCK, UNLOCK = DoorAction.OPEN, DoorAction.CLOSE, DoorAction.LOCK, DoorAction.UNLOCK


@pytest.fixture
def world():
    hw = SimulatedGateHardware(door_move_s=1.0, door_move_timeout_s=3.0)
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    yield hw, hw.scheduler, events
    hw.close()


def kinds(events):
    return [(e.kind, e.door) for e in events]


def test_door_moves_take_the_configured_time(world):
    hw, clock, events = world
    hw.execute(DoorCommand("entry", OPEN))
    assert hw.door_positions["entry"] == "moving"
    clock.advance(0.9)
    assert events == []
    clock.advance(0.1)
    assert kinds(events) == [(K.DOOR_OPENED, "entry")]
    assert hw.door_positions == {"entry": "open", "exit": "closed"}


def test_instant_mode_completes_inside_execute():
    hw = SimulatedGateHardware(instant=True)
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    hw.execute(DoorCommand("exit", OPEN))
    assert kinds(events) == [(K.DOOR_OPENED, "exit")]


@pytest.mark.parametrize(
    ("setup", "command", "message"),
    [
        ([("entry", OPEN)], ("exit", OPEN), "exit door: cannot open while the entry door is open"),
        ([("entry", OPEN), ("entry", CLOSE)], ("exit", OPEN), None),
        ([("exit", LOCK)], ("exit", OPEN), "exit door: locked, unlock before opening"),
        ([("entry", OPEN)], ("entry", LOCK), "entry door: cannot lock while open"),
        ([("exit", LOCK), ("exit", UNLOCK)], ("exit", OPEN), None),
    ],
)
def test_interlocks(setup, command, message):
    """Without these the gate could open both doors or drive a door against its lock."""
    hw = SimulatedGateHardware(instant=True)
    for door, action in setup:
        hw.execute(DoorCommand(door, action))
    if message is None:
        hw.execute(DoorCommand(*command))
        return
    with pytest.raises(InterlockViolation, match=message):
        hw.execute(DoorCommand(*command))


def test_cannot_open_the_other_door_while_one_is_still_moving(world):
    hw, clock, _ = world
    hw.execute(DoorCommand("entry", OPEN))
    clock.advance(1.0)
    hw.execute(DoorCommand("entry", CLOSE))
    with pytest.raises(InterlockViolation, match="entry door is moving"):
        hw.execute(DoorCommand("exit", OPEN))


def test_a_traveller_crossing_produces_clean_events():
    hw = SimulatedGateHardware(instant=True)
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    hw.execute(DoorCommand("entry", OPEN))
    hw.person_enters()
    hw.execute(DoorCommand("entry", CLOSE))
    hw.execute(DoorCommand("exit", OPEN))
    hw.person_exits()
    assert kinds(events) == [
        (K.DOOR_OPENED, "entry"),
        (K.PERSON_ENTERED, "entry"),
        (K.DOOR_CLOSED, "entry"),
        (K.DOOR_OPENED, "exit"),
        (K.PERSON_EXITED, "exit"),
        (K.MANTRAP_CLEAR, None),
    ]


def test_backing_out_and_tailgating():
    hw = SimulatedGateHardware(instant=True)
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    hw.execute(DoorCommand("entry", OPEN))
    hw.tailgate()
    assert K.TAILGATING in [e.kind for e in events]
    assert hw.people_inside == 2
    events.clear()
    hw.person_backs_out()
    hw.person_backs_out()
    assert kinds(events) == [
        (K.PERSON_BACKED_OUT, "entry"),
        (K.PERSON_BACKED_OUT, "entry"),
        (K.MANTRAP_CLEAR, None),
    ]


def test_people_cannot_walk_through_closed_doors():
    hw = SimulatedGateHardware(instant=True)
    with pytest.raises(SimulationError, match="entry door is closed"):
        hw.person_enters()


def test_fire_alarm_releases_a_held_traveller_and_raises_the_alarm(world):
    """A held traveller (both doors locked) must still get out in a fire."""
    hw, clock, events = world
    hw.execute(DoorCommand("entry", LOCK))
    hw.execute(DoorCommand("exit", LOCK))
    hw.indicate(Indicator.WAIT)
    events.clear()
    hw.fire_alarm()
    assert events[0].kind is K.EMERGENCY
    assert hw.indicator is Indicator.ALARM and hw.outputs.buzzer
    clock.advance(1.0)
    assert hw.door_positions == {"entry": "open", "exit": "open"}
    assert {(K.DOOR_OPENED, "entry"), (K.DOOR_OPENED, "exit")} <= set(kinds(events))
    with pytest.raises(InterlockViolation, match="during an emergency"):
        hw.execute(DoorCommand("entry", CLOSE))
    hw.fire_alarm(False)
    assert events[-1].kind is K.EMERGENCY_CLEARED
    assert hw.indicator is Indicator.WAIT
    hw.execute(DoorCommand("entry", CLOSE))  # allowed again once the alarm clears


def test_jammed_door_faults_after_the_timeout_and_recovers(world):
    hw, clock, events = world
    hw.jam_door("entry")
    hw.execute(DoorCommand("entry", OPEN))
    clock.advance(2.9)
    assert events == []
    clock.advance(0.1)
    assert kinds(events) == [(K.DOOR_FAULT, "entry"), (K.FAULT, "entry")]
    assert "did not reach open within 3.0 s" in events[0].detail
    assert hw.door_positions["entry"] == "unknown"
    with pytest.raises(InterlockViolation):
        hw.execute(DoorCommand("exit", OPEN))  # an unknown door is not a closed door
    hw.jam_door("entry", False)
    events.clear()
    hw.execute(DoorCommand("entry", CLOSE))
    clock.advance(1.0)
    assert kinds(events) == [(K.DOOR_CLOSED, "entry"), (K.FAULT_CLEARED, None)]


def test_a_jam_cleared_mid_movement_lets_the_door_finish(world):
    """The fire alarm releases a jammed door, which pushes against the jam; once the jam is
    cleared it opens, also when the alarm comes again while it is still pushing (a release
    that finds the door already opening does not command it again)."""
    hw, clock, events = world
    hw.jam_door("entry")
    hw.fire_alarm(True)
    clock.advance(1.0)
    assert hw.door_positions["entry"] == "moving"
    hw.fire_alarm(False)
    hw.jam_door("entry", False)
    hw.fire_alarm(True)
    clock.advance(1.0)
    assert hw.door_positions == {"entry": "open", "exit": "open"}
    assert (K.DOOR_FAULT, "entry") not in kinds(events)


def test_closing_on_a_blocked_doorway_reverses(world):
    hw, clock, events = world
    hw.execute(DoorCommand("entry", OPEN))
    clock.advance(1.0)
    hw.set_beam("entry", True)
    hw.execute(DoorCommand("entry", CLOSE))
    clock.advance(1.0)
    assert kinds(events[-2:]) == [(K.DOOR_OBSTRUCTED, "entry"), (K.DOOR_OPENED, "entry")]
    assert hw.door_positions["entry"] == "open"
    hw.set_beam("entry", False)
    hw.obstruct_door("entry")
    hw.execute(DoorCommand("entry", CLOSE))
    clock.advance(1.0)
    assert events[-2].kind is K.DOOR_OBSTRUCTED
    hw.execute(DoorCommand("entry", CLOSE))
    clock.advance(1.0)
    assert events[-1].kind is K.DOOR_CLOSED


def test_broken_sensor_is_a_fault_and_blocks_the_other_door():
    hw = SimulatedGateHardware(instant=True)
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    hw.break_sensor("exit")
    assert kinds(events) == [(K.DOOR_FAULT, "exit"), (K.FAULT, "exit")]
    with pytest.raises(InterlockViolation):
        hw.execute(DoorCommand("entry", OPEN))
    hw.break_sensor("exit", False)
    assert events[-1].kind is K.FAULT_CLEARED


def test_listener_commands_are_queued_not_nested():
    """A gate machine reacting inside a listener must still see events in the order they happened."""
    hw = SimulatedGateHardware(instant=True)
    seen: list[str] = []

    def first(event: HardwareEvent) -> None:
        seen.append(f"a:{event.kind}")
        if event.kind is K.DOOR_OPENED:
            hw.execute(DoorCommand("entry", CLOSE))

    hw.on_event(first)
    hw.on_event(lambda e: seen.append(f"b:{e.kind}"))
    hw.execute(DoorCommand("entry", OPEN))
    assert seen == ["a:door_opened", "b:door_opened", "a:door_closed", "b:door_closed"]


def test_close_is_idempotent_and_cancels_pending_moves():
    clock = ManualScheduler()
    hw = SimulatedGateHardware(scheduler=clock)
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    hw.execute(DoorCommand("entry", OPEN))
    hw.close()
    hw.close()
    clock.advance(5.0)
    assert events == []
    with pytest.raises(HardwareError, match="closed"):
        hw.execute(DoorCommand("entry", OPEN))
