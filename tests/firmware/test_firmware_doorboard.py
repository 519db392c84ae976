"""Door board firmware logic on CPython: a fake ``machine``, a simulated door plant, a ms clock.

Each test talks frames to the board exactly as the edge would and checks pins and replies.
"""

from __future__ import annotations

import pytest

from firmware import main
from firmware import protocol as P
from simulators.devices.firmware_rig import FirmwareRig as Rig

ENTRY, EXIT = P.DOOR_ENTRY, P.DOOR_EXIT


@pytest.fixture
def rig() -> Rig:
    r = Rig()
    r.run(20)
    return r


def test_boot_event_names_the_firmware(rig):
    assert rig.events[0][0] == P.EV_BOOT and rig.events[0][2].startswith(b"doorboard")


def test_open_and_close_a_door(rig):
    assert rig.command(P.OPEN, bytes([ENTRY])) == (P.ACK, bytes([P.POS_MOVING, P.POS_CLOSED, 0]))
    rig.run(1100)
    assert rig.plant.position("entry") == 1.0
    assert rig.event_codes() == [(P.EV_DOOR_OPENED, ENTRY)]
    assert rig.board.doors[0].motor_open.history == [0, 1, 0]
    rig.command(P.CLOSE, bytes([ENTRY]))
    rig.run(1100)
    assert rig.event_codes()[-1] == (P.EV_DOOR_CLOSED, ENTRY)
    assert rig.command(P.STATUS)[1] == bytes([P.POS_CLOSED, P.POS_CLOSED, 0])


def test_interlock_never_both_open(rig):
    """The firmware refuses even if the edge is buggy or compromised."""
    rig.command(P.OPEN, bytes([ENTRY]))
    assert rig.command(P.OPEN, bytes([EXIT])) == (P.NAK, bytes([P.NAK_INTERLOCK]))
    rig.run(1100)
    assert rig.command(P.OPEN, bytes([EXIT])) == (P.NAK, bytes([P.NAK_INTERLOCK]))
    assert rig.board.doors[1].motor_open.history == [0]


def test_lock_rules(rig):
    assert rig.command(P.LOCK, bytes([EXIT]))[0] == P.ACK
    assert rig.plant.is_locked("exit")
    assert rig.command(P.OPEN, bytes([EXIT])) == (P.NAK, bytes([P.NAK_INTERLOCK]))  # never against the lock
    assert rig.board.doors[1].motor_open.history == [0]
    rig.command(P.OPEN, bytes([ENTRY]))
    assert rig.command(P.LOCK, bytes([ENTRY])) == (P.NAK, bytes([P.NAK_INTERLOCK]))  # moving
    rig.command(P.UNLOCK, bytes([EXIT]))
    assert not rig.plant.is_locked("exit")


@pytest.mark.parametrize(
    ("cmd", "payload", "reason"),
    [(0x77, b"", P.NAK_UNKNOWN_COMMAND), (P.OPEN, b"", P.NAK_BAD_PAYLOAD), (P.OPEN, b"\x02", P.NAK_BAD_PAYLOAD),
     (P.INDICATE, b"\x09", P.NAK_BAD_PAYLOAD)],
)  # fmt: skip
def test_bad_commands_are_naked(rig, cmd, payload, reason):
    assert rig.command(cmd, payload) == (P.NAK, bytes([reason]))


def test_corrupt_frame_is_naked(rig):
    frame = bytearray(P.encode(5, P.OPEN, b"\x00"))
    frame[-1] ^= 0xFF
    rig.board.receive(bytes(frame), rig.now)
    assert rig.uart.frames == [(5, P.NAK, bytes([P.NAK_CRC]))]
    assert rig.board.doors[0].motor_open.history == [0]


def test_fire_alarm_releases_a_held_traveller(rig):
    rig.command(P.LOCK, bytes([ENTRY]))
    rig.command(P.LOCK, bytes([EXIT]))
    rig.command(P.INDICATE, bytes([P.IND_WAIT]))
    rig.plant.fire_alarm()
    rig.run(1100)
    assert rig.plant.position("entry") == rig.plant.position("exit") == 1.0
    assert not rig.plant.is_locked("entry") and not rig.plant.is_locked("exit")
    assert rig.plant.light_pattern == (0, 0, 1, 1)
    codes = rig.event_codes()
    assert codes[2] == (P.EV_EMERGENCY, P.NO_DOOR)
    assert {(P.EV_DOOR_OPENED, ENTRY), (P.EV_DOOR_OPENED, EXIT)} <= set(codes)
    assert rig.command(P.CLOSE, bytes([ENTRY])) == (P.NAK, bytes([P.NAK_EMERGENCY]))
    rig.plant.fire_alarm(False)
    rig.run(20)
    assert rig.event_codes()[-1] == (P.EV_EMERGENCY_CLEARED, P.NO_DOOR)
    assert rig.plant.light_pattern == (0, 1, 0, 0)


def test_watchdog_makes_the_doors_safe_when_the_edge_goes_silent():
    rig = Rig(WATCHDOG_MS=500)
    rig.command(P.OPEN, bytes([ENTRY]))
    rig.run(400, ack=False)  # door half open, edge silent
    assert rig.board.doors[0].motor_open.value() == 1
    rig.run(200, ack=False)
    assert rig.board.edge_lost
    assert rig.board.doors[0].motor_open.value() == 0  # stopped where it was
    assert rig.plant.is_locked("exit") and not rig.plant.is_locked("entry")  # only the closed door locks
    assert rig.plant.light_pattern == (0, 0, 1, 0)
    assert rig.command(P.PING)[1][2] & P.FLAG_EDGE_LOST == 0  # any frame brings the link back
    rig.run(1000)
    assert (P.EV_EDGE_LOST, P.NO_DOOR) in rig.event_codes()
    assert (P.EV_EDGE_BACK, P.NO_DOOR) in rig.event_codes()


def test_heartbeats_keep_the_watchdog_quiet():
    rig = Rig(WATCHDOG_MS=500)
    for _ in range(10):
        rig.command(P.PING)
        rig.run(300)
    assert not rig.board.edge_lost


def test_watchdog_does_not_stop_an_emergency_release():
    rig = Rig(WATCHDOG_MS=300)
    rig.plant.fire_alarm()
    rig.run(1200, ack=False)
    assert rig.plant.position("entry") == rig.plant.position("exit") == 1.0
    assert not rig.plant.is_locked("entry")


def test_closing_on_a_blocked_doorway_reverses(rig):
    rig.command(P.OPEN, bytes([EXIT]))
    rig.run(1100)
    rig.command(P.CLOSE, bytes([EXIT]))
    rig.run(300)
    rig.plant.block_doorway("exit")
    rig.run(1100)
    assert rig.plant.position("exit") == 1.0
    assert rig.event_codes()[-2:] == [(P.EV_DOOR_OBSTRUCTED, EXIT), (P.EV_DOOR_OPENED, EXIT)]


def test_jammed_door_faults_and_recovers(rig):
    rig.plant.jam("entry")
    rig.command(P.OPEN, bytes([ENTRY]))
    rig.run(3100)
    assert rig.board.doors[0].motor_open.value() == 0
    code, door, detail = rig.events[-1]
    assert (code, door) == (P.EV_DOOR_FAULT, ENTRY) and detail == b"did not reach open within 3000 ms"
    assert rig.command(P.STATUS)[1][2] & P.FLAG_FAULT
    rig.plant.jam("entry", False)
    rig.command(P.OPEN, bytes([ENTRY]))
    rig.run(1100)
    assert rig.event_codes()[-2:] == [(P.EV_DOOR_OPENED, ENTRY), (P.EV_FAULT_CLEARED, ENTRY)]


def test_both_end_stops_active_is_a_fault_reported_once(rig):
    rig.plant.break_sensor("exit")
    rig.run(100)
    assert rig.event_codes() == [(P.EV_DOOR_FAULT, EXIT)]
    assert rig.command(P.STATUS)[1] == bytes([P.POS_CLOSED, P.POS_UNKNOWN, P.FLAG_FAULT])
    assert rig.command(P.OPEN, bytes([ENTRY]))[0] == P.NAK  # an unknown door is not a closed one


def test_beams_are_reported_in_order(rig):
    rig.plant.block_doorway("entry")
    rig.plant.block_zone(0)
    rig.run(10)
    rig.plant.block_doorway("entry", False)
    rig.run(100)
    beams = [(door, detail) for code, door, detail in rig.events if code == P.EV_BEAM]
    assert beams == [(0, b"\x01"), (1, b"\x01"), (0, b"\x00")]


def test_unacknowledged_events_are_repeated_until_acked(rig):
    rig.plant.block_zone(1)
    rig.run(650, ack=False)
    beam_frames = [e for e in rig.events if e[0] == P.EV_BEAM]
    assert len(beam_frames) == 4  # sent at 0, 200, 400, 600 ms
    rig.events.clear()
    rig.run(100)  # acked now
    rig.run(500)
    assert len([e for e in rig.events if e[0] == P.EV_BEAM]) == 1


def test_a_repeated_command_is_answered_but_not_done_twice(rig):
    frame = P.encode(42, P.UNLOCK, bytes([ENTRY]))
    rig.board.receive(frame, rig.now)
    rig.board.receive(frame, rig.now)  # the edge missed our ACK and resent
    acks = [f for f in rig.uart.frames if f[1] == P.ACK]
    assert len(acks) == 2
    rig.uart.frames.clear()
    rig.run(1000)
    assert rig.event_codes() == [(P.EV_DOOR_UNLOCKED, ENTRY)]


def test_main_loop_runs_on_a_fake_clock_and_feeds_the_watchdog():
    rig = Rig()
    clock = {"now": 0}
    rig.uart.rx += P.encode(1, P.OPEN, bytes([ENTRY]))
    wdt = rig.machine.WDT(timeout=2000)

    def sleep_ms(ms: int) -> None:
        clock["now"] += ms
        rig.plant.step(clock["now"])

    main.run(rig.board, rig.uart, lambda: clock["now"], sleep_ms, wdt=wdt,
             should_stop=lambda: clock["now"] >= 1200)  # fmt: skip
    assert wdt.feeds == 600
    assert rig.plant.position("entry") == 1.0
    assert (1, P.ACK) in [(s, c) for s, c, _ in rig.uart.frames]


def test_a_repeat_after_the_window_is_a_new_command(rig):
    """A restarted edge may reuse a seq: outside the retransmission window it must be obeyed."""
    frame = P.encode(42, P.STATUS)
    rig.board.receive(frame, rig.now)
    rig.command(P.OPEN, bytes([ENTRY]))
    rig.run(1100)
    rig.uart.frames.clear()
    rig.board.receive(P.encode(43, P.STATUS), rig.now)
    rig.board.receive(P.encode(43, P.STATUS), rig.now + 1500)
    replies = [f[2] for f in rig.uart.frames if f[1] == P.ACK]
    assert replies[0] == replies[1] == bytes([P.POS_OPEN, P.POS_CLOSED, 0])
    assert rig.board.last_command[4] == rig.now + 1500  # executed afresh, not replayed
