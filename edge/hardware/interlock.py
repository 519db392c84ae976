"""The door interlocks as one pure function, shared by the simulated and GPIO adapters.

The door board firmware enforces the same rules on its side (firmware/doorboard.py), so a
buggy or compromised edge process still cannot open both doors.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.hardware.base import DoorAction, DoorCommand, DoorName, DoorPosition, other_door
from edge.hardware.errors import InterlockViolation

_SHUT = (DoorPosition.CLOSED, DoorPosition.LOCKED)


def check_command(command: DoorCommand, positions: Mapping[DoorName, str], *, emergency: bool) -> None:
    """Raise ``InterlockViolation`` if ``command`` is unsafe given the doors' ``positions``.

    Rules: never open a door while the other is not shut (closed or locked); never drive a door
    against its engaged lock (unlock first, so a held traveller is only released on purpose);
    never lock a door that is not closed; while the fire alarm is active, nothing may close or
    lock. Opening an already open door and unlocking are always allowed.
    """
    door = command.door
    here = positions[door]
    there = positions[other_door(door)]
    if command.action is DoorAction.OPEN:
        if here == DoorPosition.OPEN:
            return
        if here == DoorPosition.LOCKED:
            raise InterlockViolation(f"{door} door: locked, unlock before opening")
        if there not in _SHUT and not emergency:
            raise InterlockViolation(f"{door} door: cannot open while the {other_door(door)} door is {there}")
    elif command.action in (DoorAction.CLOSE, DoorAction.LOCK):
        if emergency:
            raise InterlockViolation(f"{door} door: cannot {command.action} during an emergency")
        if command.action is DoorAction.LOCK and here not in _SHUT:
            raise InterlockViolation(f"{door} door: cannot lock while {here}")
