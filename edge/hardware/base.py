"""The contract between the gate runtime (edge/gate) and whatever drives the physical gate.

Three adapters implement ``GateHardware``: ``SimulatedGateHardware`` (in-process, deterministic),
``GpioGateHardware`` (gpiozero pins) and ``DoorBoardGateHardware`` (our firmware over serial).
The gate machine sends ``DoorCommand``s and ``Indicator``s and listens for ``HardwareEvent``s; it
never touches pins or frames.

Safety is the adapter's job, not the caller's: every adapter refuses (``InterlockViolation``) a
command that would open both doors at once, open a locked door, or lock an open one; releases every
door by itself when the fire alarm input goes active; and stops the motors and reports ``FAULT``
when a door jams or a sensor lies. ``release_all`` is the only way to have both doors open.

Events are delivered in order, one at a time, on whichever thread produced them. A listener may call
back into the adapter (for example ``execute`` from inside an event); events raised by that call are
queued and delivered after the current one, never nested.
"""

from __future__ import annotations

import collections
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NamedTuple

log = logging.getLogger(__name__)

DoorName = Literal["entry", "exit"]  # pintu masuk / pintu keluar
DOOR_NAMES: tuple[DoorName, DoorName] = ("entry", "exit")


def other_door(door: DoorName) -> DoorName:
    """The opposite door of the mantrap."""
    return "exit" if door == "entry" else "entry"


class DoorAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    LOCK = "lock"
    UNLOCK = "unlock"


@dataclass(frozen=True)
class DoorCommand:
    door: DoorName
    action: DoorAction


class DoorPosition(StrEnum):
    """What ``GateHardware.door_positions`` reports; plain strings, so ``== "open"`` works."""

    OPEN = "open"
    CLOSED = "closed"  # closed, lock released
    LOCKED = "locked"  # closed and lock engaged
    MOVING = "moving"
    UNKNOWN = "unknown"  # no limit switch active and not driving (pushed, jammed or just powered up)


class HardwareEventKind(StrEnum):
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    DOOR_LOCKED = "door_locked"
    DOOR_UNLOCKED = "door_unlocked"
    DOOR_OBSTRUCTED = "door_obstructed"  # closing stopped and reversed; not a fault, retry CLOSE
    DOOR_FAULT = "door_fault"  # this door jammed or its switches lie; FAULT follows
    PERSON_ENTERED = "person_entered"  # entry beam crossed, into the mantrap
    MANTRAP_CLEAR = "mantrap_clear"  # nobody left inside
    PERSON_EXITED = "person_exited"  # left through the exit beam
    PERSON_BACKED_OUT = "person_backed_out"  # left the way they came, through the entry
    TAILGATING = "tailgating"  # two people in the mantrap
    EMERGENCY = "emergency"  # fire alarm input active; doors released by the hardware itself
    EMERGENCY_CLEARED = "emergency_cleared"  # input inactive again; doors stay as they are
    FAULT = "fault"  # the gate cannot run safely; motors stopped
    FAULT_CLEARED = "fault_cleared"  # every fault has recovered


@dataclass(frozen=True)
class HardwareEvent:
    kind: HardwareEventKind
    door: DoorName | None = None
    detail: str = ""


class Indicator(StrEnum):
    IDLE = "idle"
    PROCEED = "proceed"  # green
    WAIT = "wait"  # amber
    STOP = "stop"  # red
    ALARM = "alarm"  # red + buzzer


class IndicatorOutputs(NamedTuple):
    """Which lamps and the buzzer are on for an indicator, the same on every adapter."""

    green: bool
    amber: bool
    red: bool
    buzzer: bool


INDICATOR_OUTPUTS: dict[Indicator, IndicatorOutputs] = {
    Indicator.IDLE: IndicatorOutputs(green=False, amber=False, red=False, buzzer=False),
    Indicator.PROCEED: IndicatorOutputs(green=True, amber=False, red=False, buzzer=False),
    Indicator.WAIT: IndicatorOutputs(green=False, amber=True, red=False, buzzer=False),
    Indicator.STOP: IndicatorOutputs(green=False, amber=False, red=True, buzzer=False),
    Indicator.ALARM: IndicatorOutputs(green=False, amber=False, red=True, buzzer=True),
}

Listener = Callable[[HardwareEvent], None]


class EventHub:
    """Ordered, non-reentrant fan-out of hardware events to listeners.

    An event emitted while another is being delivered (a listener reacting by commanding the
    hardware) waits in the queue, so every listener sees events in the order they happened.
    A listener that raises is logged and skipped: one broken observer must not stop the gate
    machine from hearing about a fire alarm.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._queue: collections.deque[HardwareEvent] = collections.deque()
        self._lock = threading.Lock()
        self._delivering = False

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: HardwareEvent) -> None:
        with self._lock:
            self._queue.append(event)
            if self._delivering:
                return
            self._delivering = True
        while True:
            with self._lock:
                if not self._queue:
                    self._delivering = False
                    return
                current = self._queue.popleft()
            log.debug("hardware event %s door=%s %s", current.kind, current.door, current.detail)
            for listener in list(self._listeners):
                try:
                    listener(current)
                except Exception:  # a listener bug must not silence later events
                    log.exception("hardware event listener failed on %s", current.kind)


class GateHardware(ABC):
    """The doors, beams, lights, buzzer and emergency input of one gate.

    ``execute`` never blocks on a door movement: it validates the command against the interlocks
    (raising ``InterlockViolation`` when refused), starts it, and the outcome arrives as events
    (``DOOR_OPENED``, ``DOOR_CLOSED``, ``DOOR_LOCKED``, ``DOOR_FAULT``...).
    """

    def __init__(self) -> None:
        self._events = EventHub()

    @abstractmethod
    def execute(self, command: DoorCommand) -> None:
        """Start a door command; raise ``InterlockViolation`` if the interlocks refuse it."""

    @abstractmethod
    def release_all(self) -> None:
        """Emergency: unlock and open both doors now, overriding the both-open interlock."""

    @abstractmethod
    def indicate(self, indicator: Indicator) -> None:
        """Show ``indicator`` on the traveller-facing lights and buzzer."""

    def on_event(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on."""
        self._events.add(listener)

    @property
    @abstractmethod
    def door_positions(self) -> dict[DoorName, str]:
        """Each door's position: one of the ``DoorPosition`` values."""

    @abstractmethod
    def close(self) -> None:
        """Stop motors, leave the doors safe and release resources; safe to call twice."""

    def _emit(self, kind: HardwareEventKind, door: DoorName | None = None, detail: str = "") -> None:
        self._events.emit(HardwareEvent(kind, door, detail))

    def __enter__(self) -> GateHardware:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
