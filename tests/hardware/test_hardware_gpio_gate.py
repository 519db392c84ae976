"""GpioGateHardware: the whole gate on mock pins, as the gate machine sees it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.hardware.base import DoorAction, DoorCommand, HardwareEvent, HardwareEventKind as K, Indicator
from edge.hardware.clock import ManualScheduler
from edge.hardware.errors import InterlockViolation
from edge.hardware.gpio import DEFAULT_PIN_MAP, GpioGateHardware, GpioPinMap

P = DEFAULT_PIN_MAP


def states(factory, pin):
    return [s.state for s in factory.pin(pin).states]


@pytest.fixture
def gate(mock_factory):
    clock = ManualScheduler()
    hw = GpioGateHardware(P, scheduler=clock, pin_factory=mock_factory)
    mock_factory.pin(P.entry.closed_switch).drive_low()  # both doors start on their closed stops
    mock_factory.pin(P.exit.closed_switch).drive_low()
    events: list[HardwareEvent] = []
    hw.on_event(events.append)
    yield hw, mock_factory, clock, events
    hw.close()


def kinds(events):
    return [(e.kind, e.door) for e in events]


def move(factory, door, to):
    pins = getattr(P, door)
    if to == "open":
        factory.pin(pins.closed_switch).drive_high()
        factory.pin(pins.open_switch).drive_low()
    else:
        factory.pin(pins.open_switch).drive_high()
        factory.pin(pins.closed_switch).drive_low()


def cross(factory, beams):
    for beam, blocked in beams:
        pin = factory.pin(beam)
        pin.drive_high() if blocked else pin.drive_low()


def test_a_traveller_passes(gate):
    hw, f, _, events = gate
    hw.execute(DoorCommand("entry", DoorAction.OPEN))
    move(f, "entry", "open")
    entry_beam, zone = P.entry.doorway_beam, P.zone_beams
    cross(f, [(entry_beam, True), (zone[0], True), (entry_beam, False), (zone[0], False)])
    hw.execute(DoorCommand("entry", DoorAction.CLOSE))
    move(f, "entry", "closed")
    hw.execute(DoorCommand("exit", DoorAction.OPEN))
    move(f, "exit", "open")
    exit_beam = P.exit.doorway_beam
    cross(f, [(zone[-1], True), (exit_beam, True), (zone[-1], False), (exit_beam, False)])
    assert kinds(events) == [
        (K.DOOR_OPENED, "entry"),
        (K.PERSON_ENTERED, "entry"),
        (K.DOOR_CLOSED, "entry"),
        (K.DOOR_OPENED, "exit"),
        (K.PERSON_EXITED, "exit"),
        (K.MANTRAP_CLEAR, None),
    ]
    assert states(f, P.entry.motor_open) == [False, True, False]
    assert states(f, P.entry.motor_close) == [False, True, False]


def test_both_doors_never_open(gate):
    hw, f, _, _ = gate
    hw.execute(DoorCommand("entry", DoorAction.OPEN))
    with pytest.raises(InterlockViolation):
        hw.execute(DoorCommand("exit", DoorAction.OPEN))
    assert states(f, P.exit.motor_open) == [False]


def test_fire_alarm_releases_a_held_traveller(gate):
    """Emergency release must act from the input itself, with both doors locked, and sound the alarm."""
    hw, f, _, events = gate
    hw.execute(DoorCommand("entry", DoorAction.LOCK))
    hw.execute(DoorCommand("exit", DoorAction.LOCK))
    hw.indicate(Indicator.WAIT)
    events.clear()
    f.pin(P.emergency).drive_high()
    assert events[0].kind is K.EMERGENCY
    assert states(f, P.entry.lock) == [False, True, False]
    assert states(f, P.exit.lock) == [False, True, False]
    assert states(f, P.entry.motor_open)[-1] is True
    assert states(f, P.exit.motor_open)[-1] is True
    assert f.pin(P.red).state and f.pin(P.buzzer).state and not f.pin(P.amber).state
    move(f, "entry", "open")
    move(f, "exit", "open")
    assert hw.door_positions == {"entry": "open", "exit": "open"}
    with pytest.raises(InterlockViolation, match="during an emergency"):
        hw.execute(DoorCommand("exit", DoorAction.CLOSE))
    f.pin(P.emergency).drive_low()
    assert events[-1].kind is K.EMERGENCY_CLEARED
    assert f.pin(P.amber).state and not f.pin(P.buzzer).state


def test_jammed_door_is_a_fault_with_the_motor_off(gate):
    hw, f, clock, events = gate
    hw.execute(DoorCommand("exit", DoorAction.OPEN))
    clock.advance(P.door_move_timeout_s)
    assert kinds(events) == [(K.DOOR_FAULT, "exit"), (K.FAULT, "exit")]
    assert states(f, P.exit.motor_open) == [False, True, False]


@pytest.mark.parametrize(
    ("indicator", "lit"),
    [
        (Indicator.IDLE, set()),
        (Indicator.PROCEED, {"green"}),
        (Indicator.WAIT, {"amber"}),
        (Indicator.STOP, {"red"}),
        (Indicator.ALARM, {"red", "buzzer"}),
    ],
)
def test_indicators(gate, indicator, lit):
    hw, f, _, _ = gate
    hw.indicate(indicator)
    on = {name for name in ("green", "amber", "red", "buzzer") if f.pin(getattr(P, name)).state}
    assert on == lit


def test_tailgating_from_the_floor_beams(gate):
    hw, f, _, events = gate
    zone = P.zone_beams
    cross(f, [(zone[0], True), (zone[2], True)])
    assert kinds(events) == [(K.TAILGATING, None)]


def test_alarm_already_active_at_start_releases_at_once(mock_factory):
    mock_factory.pin(P.emergency).drive_high()
    hw = GpioGateHardware(P, scheduler=ManualScheduler(), pin_factory=mock_factory)
    try:
        assert hw.emergency
        assert states(mock_factory, P.entry.motor_open)[-1] is True
    finally:
        hw.close()


def test_close_is_idempotent_and_stops_motors(gate):
    hw, f, _, _ = gate
    hw.execute(DoorCommand("entry", DoorAction.OPEN))
    hw.close()
    hw.close()
    assert states(f, P.entry.motor_open)[-1] is False


def test_pin_map_rejects_a_pin_used_twice():
    data = P.model_dump()
    data["buzzer"] = data["red"]
    with pytest.raises(ValidationError, match="used twice"):
        GpioPinMap(**data)
