"""The named facts the transition table's guards are made of (STYLE §4.1).

Each fact is a pure function of the machine's current knowledge and the event being handled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edge.gate.events import DoorEvent, GateInput, TimerExpired
from edge.gate.passback import document_key

if TYPE_CHECKING:
    from edge.gate.core import MachineCore

SHUT = ("closed", "locked")


def _is_door(door: str) -> Callable[[MachineCore, GateInput], bool]:
    return lambda m, e: isinstance(e, DoorEvent) and e.door == door


def _timer(name: str) -> Callable[[MachineCore, GateInput], bool]:
    return lambda m, e: isinstance(e, TimerExpired) and e.timer == name


def _failed_step_is(m: MachineCore, step: str) -> bool:
    return m.transaction is not None and m.transaction.failed_step == step


FACTS: dict[str, Callable[[MachineCore, Any], bool]] = {
    "document_unreadable": lambda m, e: e.traveler is None,
    "document_invalid": lambda m, e: not e.accepted,
    "passback_recent": lambda m, e: (
        m.transaction is not None
        and m.transaction.traveler is not None
        and m.passback.used_recently(
            document_key(
                m.transaction.traveler.issuing_state,
                m.transaction.traveler.document_number,
            ),
            m.since_ms,
        )
    ),
    "watchlist_identical": lambda m, e: e.watchlist_level == "identical",
    "is_entry": _is_door("entry"),
    "is_exit": _is_door("exit"),
    "traveler_inside": lambda m, e: m.occupants > 0,
    "mantrap_empty": lambda m, e: m.occupants == 0,
    "hold": lambda m, e: m.transaction is not None and m.transaction.hold,
    "timer_scan": _timer("scan"),
    "timer_walk_in": _timer("walk_in"),
    "timer_finger": _timer("finger"),
    "timer_face": _timer("face"),
    "timer_supervisor": _timer("supervisor"),
    "timer_walk_out": _timer("walk_out"),
    "timer_door": lambda m, e: isinstance(e, TimerExpired) and e.timer.startswith("door_"),
    "fingerprint_match": lambda m, e: e.result.match,
    "face_match": lambda m, e: e.result.match,
    "retry_left": lambda m, e: m.retries_left() > 0,
    "failed_fingerprint": lambda m, e: _failed_step_is(m, "fingerprint"),
    "reason_given": lambda m, e: bool(e.reason.strip()),
    "alarm_active": lambda m, e: m.alarm is not None,
    "doors_shut": lambda m, e: m.doors_shut,
    "fault_input": lambda m, e: m.fault_input,
    "emergency_input": lambda m, e: m.emergency_input,
}

# Exported for tests and docs.
