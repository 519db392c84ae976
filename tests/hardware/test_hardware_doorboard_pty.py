"""The edge driver against the real firmware logic over a pty pair, as in the field.

Doors move in 30 ms here; every wait is on an event with a timeout, never a sleep.
"""

from __future__ import annotations

import pytest

from edge.hardware.base import DoorAction, DoorCommand, HardwareEventKind as K, Indicator
from edge.hardware.doorboard import DoorBoardGateHardware
from edge.hardware.errors import InterlockViolation
from edge.hardware.recorder import EventRecorder
from simulators.devices.doorboard_sim import DoorBoardSimulator

OPEN, CLOSE, LOCK = DoorAction.OPEN, DoorAction.CLOSE, DoorAction.LOCK


@pytest.fixture
def gate():
    with DoorBoardSimulator(door_move_ms=30, watchdog_ms=400) as sim:
        hw = DoorBoardGateHardware.open(sim.port_name, heartbeat_s=0.1)
        try:
            yield hw, sim, EventRecorder(hw)
        finally:
            hw.close()


def test_open_close_and_positions(gate):
    hw, sim, rec = gate
    assert hw.door_positions == {"entry": "closed", "exit": "closed"}
    hw.execute(DoorCommand("entry", OPEN))
    rec.wait_for(K.DOOR_OPENED, "entry")
    assert hw.door_positions["entry"] == "open"
    assert sim.plant.position("entry") == 1.0
    hw.execute(DoorCommand("entry", CLOSE))
    rec.wait_for(K.DOOR_CLOSED, "entry")
    assert hw.door_positions["entry"] == "closed"


def test_firmware_interlock_refusal_surfaces_as_interlock_violation(gate):
    hw, sim, rec = gate
    hw.execute(DoorCommand("exit", OPEN))
    with pytest.raises(InterlockViolation, match="open entry refused: interlock refused"):
        hw.execute(DoorCommand("entry", OPEN))
    rec.wait_for(K.DOOR_OPENED, "exit")
    with pytest.raises(InterlockViolation):
        hw.execute(DoorCommand("exit", LOCK))
    assert sim.board.doors[0].motor_open.history == [0]


def test_fire_alarm_releases_held_traveller_through_the_board(gate):
    hw, sim, rec = gate
    hw.execute(DoorCommand("entry", LOCK))
    hw.execute(DoorCommand("exit", LOCK))
    mark = rec.mark()
    sim.plant.fire_alarm()
    rec.wait_for(K.EMERGENCY, after=mark)
    rec.wait_for(K.DOOR_OPENED, "entry", after=mark)
    rec.wait_for(K.DOOR_OPENED, "exit", after=mark)
    assert sim.plant.light_pattern == (0, 0, 1, 1)
    with pytest.raises(InterlockViolation, match="emergency active"):
        hw.execute(DoorCommand("entry", CLOSE))
    sim.plant.fire_alarm(False)
    rec.wait_for(K.EMERGENCY_CLEARED)


def test_traveller_events_come_from_the_board_beams(gate):
    hw, sim, rec = gate
    entry, zone0, zone2, exit_ = 0, 1, 3, 4
    for beam, blocked in [(entry, True), (zone0, True), (entry, False), (zone0, False)]:
        sim.set_beam(beam, blocked)
    rec.wait_for(K.PERSON_ENTERED, "entry")
    for beam, blocked in [(zone2, True), (exit_, True), (zone2, False), (exit_, False)]:
        sim.set_beam(beam, blocked)
    rec.wait_for(K.PERSON_EXITED, "exit")
    rec.wait_for(K.MANTRAP_CLEAR)


def test_jammed_door_is_a_fault(gate):
    hw, sim, rec = gate
    sim.board.move_timeout_ms = 150
    sim.plant.jam("exit")
    hw.execute(DoorCommand("exit", OPEN))
    fault = rec.wait_for(K.DOOR_FAULT, "exit")
    assert "did not reach open within 150 ms" in fault.detail
    rec.wait_for(K.FAULT)
    assert "exit:board" in hw.faults
    assert sim.board.doors[1].motor_open.value() == 0  # the board stopped the motor itself
    sim.plant.jam("exit", False)
    hw.execute(DoorCommand("exit", OPEN))
    rec.wait_for(K.FAULT_CLEARED)


def test_indicator_reaches_the_panel(gate):
    hw, sim, _ = gate
    hw.indicate(Indicator.PROCEED)
    assert sim.plant.light_pattern == (1, 0, 0, 0)


def test_a_dead_edge_leaves_the_doors_safe_and_the_next_edge_hears_of_it():
    """The board's watchdog: when the edge process stops pinging, the closed doors lock."""
    with DoorBoardSimulator(door_move_ms=30, watchdog_ms=300) as sim:
        hw = DoorBoardGateHardware.open(sim.port_name, heartbeat_s=0.05)
        assert not sim.plant.is_locked("entry")
        hw.close()  # the edge dies: no more heartbeats
        assert sim.wait_until(lambda: sim.board.edge_lost)
        assert sim.plant.is_locked("entry") and sim.plant.is_locked("exit")
        assert sim.plant.light_pattern == (0, 0, 1, 0)
        hw = DoorBoardGateHardware.open(sim.port_name, heartbeat_s=0.05)
        try:
            rec = EventRecorder(hw)
            assert hw.door_positions == {"entry": "locked", "exit": "locked"}
            rec.wait_for(K.FAULT)  # the queued EDGE_LOST event
            rec.wait_for(K.FAULT_CLEARED)  # and the link coming back
        finally:
            hw.close()


def test_built_the_way_the_edge_cli_builds_it():
    """edge/cli.py passes a port path, baudrate, timeout_s and its scheduler."""
    from edge.hardware.clock import ThreadScheduler

    with DoorBoardSimulator(door_move_ms=30) as sim:
        hw = DoorBoardGateHardware(port=sim.port_name, baudrate=115200, timeout_s=0.5, scheduler=ThreadScheduler())
        try:
            assert hw.door_positions == {"entry": "closed", "exit": "closed"}
        finally:
            hw.close()
