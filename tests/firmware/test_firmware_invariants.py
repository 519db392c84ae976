"""Safety invariants of the firmware under arbitrary command sequences (hypothesis).

Whatever the edge sends, in whatever order and timing, with beams and jams thrown in: outside an
emergency the two door leaves are never both off their closed stops, and a locked door's motor
never runs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import protocol as P
from simulators.devices.firmware_rig import FirmwareRig as Rig

DOORS = st.sampled_from([P.DOOR_ENTRY, P.DOOR_EXIT])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([P.OPEN, P.CLOSE, P.LOCK, P.UNLOCK]), DOORS),
        st.tuples(st.just("wait"), st.integers(min_value=10, max_value=1500)),
        st.tuples(st.just("beam"), st.sampled_from(["entry", "exit"])),
        st.tuples(st.just("jam"), st.sampled_from(["entry", "exit"])),
    ),
    max_size=40,
)


def leaves_open(rig: Rig) -> int:
    return sum(rig.plant.position(door) > 0.0 for door in ("entry", "exit"))


@settings(max_examples=60, deadline=None)
@given(STEPS)
def test_never_both_open_and_never_against_the_lock(steps):
    rig = Rig()
    blocked = {"entry": False, "exit": False}
    jammed = {"entry": False, "exit": False}
    for kind, arg in steps:
        if kind == "wait":
            for _ in range(arg // 10):
                rig.run(10)
                assert leaves_open(rig) <= 1
                for door in rig.board.doors:
                    assert not (door.locked() and (door.motor_open.value() or door.motor_close.value()))
        elif kind == "beam":
            blocked[arg] = not blocked[arg]
            rig.plant.block_doorway(arg, blocked[arg])
        elif kind == "jam":
            jammed[arg] = not jammed[arg]
            rig.plant.jam(arg, jammed[arg])
        else:
            rig.command(kind, bytes([arg]))
        assert leaves_open(rig) <= 1


@settings(max_examples=30, deadline=None)
@given(STEPS, st.integers(min_value=0, max_value=2000))
def test_fire_alarm_always_ends_with_both_doors_open_and_unlocked(steps, alarm_after_ms):
    rig = Rig()
    for kind, arg in steps:
        if kind in (P.OPEN, P.CLOSE, P.LOCK, P.UNLOCK):
            rig.command(kind, bytes([arg]))
        elif kind == "wait":
            rig.run(arg)
        elif kind == "beam":
            rig.plant.block_doorway(arg)
    rig.run(alarm_after_ms)
    rig.plant.fire_alarm()
    rig.run(1200)
    assert rig.plant.position("entry") == rig.plant.position("exit") == 1.0
    assert not rig.plant.is_locked("entry") and not rig.plant.is_locked("exit")
    assert rig.plant.light_pattern == (0, 0, 1, 1)
