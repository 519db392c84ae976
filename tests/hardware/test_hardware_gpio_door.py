"""Door: the interlocks live inside the composite; tests drive switch pins and read output pins."""

from __future__ import annotations

import pytest

from edge.hardware.clock import ManualScheduler
from edge.hardware.errors import DoorJammed, InterlockViolation, SensorFault
from edge.hardware.gpio.door import Door

MOTOR_OPEN, MOTOR_CLOSE, LOCK, OPEN_SW, CLOSED_SW, BEAM = 5, 6, 13, 19, 26, 20


def states(factory, pin):
    return [s.state for s in factory.pin(pin).states]


@pytest.fixture
def rig(mock_factory):
    clock = ManualScheduler()
    door = Door(MOTOR_OPEN, MOTOR_CLOSE, LOCK, OPEN_SW, CLOSED_SW, BEAM, name="entry", scheduler=clock,
                pin_factory=mock_factory)  # fmt: skip
    seen: list[object] = []
    door.when_opened = lambda: seen.append("opened")
    door.when_closed = lambda: seen.append("closed")
    door.when_obstructed = lambda: seen.append("obstructed")
    door.when_fault = seen.append
    mock_factory.pin(CLOSED_SW).drive_low()  # the door starts on its closed stop
    yield door, mock_factory, clock, seen
    door.close()


def arrive_open(factory):
    factory.pin(CLOSED_SW).drive_high()
    factory.pin(OPEN_SW).drive_low()


def arrive_closed(factory):
    factory.pin(OPEN_SW).drive_high()
    factory.pin(CLOSED_SW).drive_low()


def test_open_drives_the_motor_until_the_open_stop(rig):
    door, f, _, seen = rig
    assert door.position == "closed"
    door.open()
    assert door.position == "moving"
    arrive_open(f)
    assert seen == ["opened"]
    assert door.position == "open"
    assert states(f, MOTOR_OPEN) == [False, True, False]
    assert states(f, MOTOR_CLOSE) == [False]


def test_never_drives_against_the_lock(rig):
    """Without this a held traveller's door could be forced by its own motor."""
    door, f, _, _ = rig
    door.lock()
    with pytest.raises(InterlockViolation, match="entry door: locked, unlock before opening"):
        door.open()
    assert states(f, MOTOR_OPEN) == [False]
    door.unlock()
    door.open()
    assert states(f, LOCK) == [False, True, False]
    assert states(f, MOTOR_OPEN) == [False, True]


def test_lock_only_engages_on_a_closed_stopped_door(rig):
    door, f, _, _ = rig
    door.open()
    with pytest.raises(InterlockViolation, match="cannot lock while moving"):
        door.lock()
    arrive_open(f)
    with pytest.raises(InterlockViolation, match="cannot lock while open"):
        door.lock()
    assert states(f, LOCK) == [False]


def test_partner_door_must_be_shut(mock_factory):
    """'Never both open' is inside the devices, whatever the caller asks."""
    clock = ManualScheduler()
    entry = Door(5, 6, 13, 19, 26, name="entry", scheduler=clock, pin_factory=mock_factory)
    exit_ = Door(12, 16, 21, 23, 24, name="exit", scheduler=clock, pin_factory=mock_factory)
    try:
        entry.interlock_with(exit_)
        mock_factory.pin(26).drive_low()
        mock_factory.pin(24).drive_low()
        entry.open()
        with pytest.raises(InterlockViolation, match="exit door: cannot open while the entry door is moving"):
            exit_.open()
        mock_factory.pin(26).drive_high()
        mock_factory.pin(19).drive_low()
        with pytest.raises(InterlockViolation, match="entry door is open"):
            exit_.open()
        assert states(mock_factory, 12) == [False]
        exit_.release()  # emergency overrides the interlock
        assert states(mock_factory, 12) == [False, True]
    finally:
        entry.close()
        exit_.close()


def test_closing_on_a_blocked_doorway_reverses(rig):
    door, f, _, seen = rig
    door.open()
    arrive_open(f)
    door.shut()
    f.pin(OPEN_SW).drive_high()  # leaves the open stop
    f.pin(BEAM).drive_high()
    assert seen == ["opened", "obstructed"]
    assert states(f, MOTOR_CLOSE) == [False, True, False]
    assert states(f, MOTOR_OPEN) == [False, True, False, True]
    f.pin(OPEN_SW).drive_low()
    assert seen == ["opened", "obstructed", "opened"]
    assert states(f, MOTOR_OPEN) == [False, True, False, True, False]


def test_shut_refuses_to_start_on_a_blocked_doorway(rig):
    door, f, _, seen = rig
    door.open()
    arrive_open(f)
    f.pin(BEAM).drive_high()
    door.shut()
    assert seen == ["opened", "obstructed"]
    assert states(f, MOTOR_CLOSE) == [False]


def test_a_door_that_never_arrives_is_jammed(rig):
    door, f, clock, seen = rig
    door.open()
    clock.advance(2.9)
    assert seen == []
    clock.advance(0.1)
    assert isinstance(seen[-1], DoorJammed)
    assert isinstance(seen[-1], TimeoutError)
    assert str(seen[-1]) == "entry door: did not reach open within 3.0 s"
    assert states(f, MOTOR_OPEN) == [False, True, False]


def test_arrival_cancels_the_timeout(rig):
    door, f, clock, seen = rig
    door.open()
    arrive_open(f)
    clock.advance(10)
    assert seen == ["opened"]


def test_both_stops_active_is_a_sensor_fault(rig):
    door, f, _, seen = rig
    door.open()
    f.pin(OPEN_SW).drive_low()  # closed stop still active too
    assert isinstance(seen[-1], SensorFault)
    assert "open and closed switches both active" in str(seen[-1])
    assert door.position == "unknown"
    assert states(f, MOTOR_OPEN) == [False, True, False]


def test_pushed_off_the_closed_stop_is_reported(rig):
    door, f, _, seen = rig
    f.pin(CLOSED_SW).drive_high()
    assert isinstance(seen[-1], SensorFault)
    assert "pushed off its closed stop" in str(seen[-1])


def test_close_stops_the_motor_and_is_idempotent(rig):
    door, f, _, _ = rig
    door.open()
    door.close()
    door.close()
    assert door.closed
    assert states(f, MOTOR_OPEN)[-1] is False


def test_a_failed_constructor_releases_its_pins(mock_factory):
    """Without this a typo in the pin map leaves pins reserved until the process dies."""
    with pytest.raises(Exception):
        Door(5, 6, 13, 19, 5, pin_factory=mock_factory)  # closed switch reuses the motor pin
    door = Door(5, 6, 13, 19, 26, pin_factory=mock_factory)  # every pin is free again
    door.close()
