"""A deterministic, in-process gate: doors, beams, lights and fire alarm with no hardware.

For gate-machine tests and the hall simulator. Time moves only through the injected scheduler
(a ``ManualScheduler`` by default, so ``hw.scheduler.advance(1.0)`` completes a 1 s door move), or
not at all with ``instant=True``, where every movement completes inside ``execute``.

The world is simulated, not scripted: travellers walk along the beam track one beam at a time
and the same ``MantrapTracker`` the GPIO adapter uses turns beam changes into ``PERSON_*`` and
``TAILGATING`` events; a door closing on a blocked doorway beam reverses (``DOOR_OBSTRUCTED``).
The interlocks are the shared ``check_command``, so the simulator refuses exactly what real
hardware refuses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.hardware.base import (
    DOOR_NAMES,
    INDICATOR_OUTPUTS,
    DoorAction,
    DoorCommand,
    DoorName,
    DoorPosition,
    GateHardware,
    HardwareEventKind,
    Indicator,
    IndicatorOutputs,
)
from edge.hardware.bodies import MantrapBodies
from edge.hardware.clock import Cancellable, ManualScheduler, Scheduler
from edge.hardware.errors import HardwareError, SimulationError
from edge.hardware.faults import FaultSet
from edge.hardware.interlock import check_command
from edge.hardware.mantrap import MantrapTracker, zone_beam

log = logging.getLogger(__name__)


@dataclass
class _SimDoor:
    name: DoorName
    position: DoorPosition = DoorPosition.CLOSED
    target: DoorPosition | None = None
    pending: Cancellable | None = None
    jammed: bool = False
    obstruct_next_close: bool = False
    sensor_broken: bool = False
    move: int = 0  # bumped per movement, so a stale timer cannot complete a newer one


class SimulatedGateHardware(GateHardware):
    """A simulated two-door mantrap gate.

    :param instant: complete every door movement inside ``execute`` (no scheduler needed).
    :param door_move_s: how long a door takes to open or close (SOP: 1 s).
    :param door_move_timeout_s: when a jammed door is declared faulty (``DOOR_FAULT`` + ``FAULT``).
    :param scheduler: what times the movements; a fresh ``ManualScheduler`` when omitted.
    :param zone_beams: beams across the mantrap floor, between the two doorway beams.
    """

    def __init__(
        self,
        *,
        instant: bool = False,
        door_move_s: float = 1.0,
        door_move_timeout_s: float = 3.0,
        scheduler: Scheduler | None = None,
        zone_beams: int = 3,
    ) -> None:
        super().__init__()
        if door_move_timeout_s <= door_move_s:
            raise ValueError("door_move_timeout_s must be longer than door_move_s")
        self.instant = instant
        self.door_move_s = door_move_s
        self.door_move_timeout_s = door_move_timeout_s
        self.scheduler: Scheduler = scheduler if scheduler is not None else ManualScheduler()
        self._lock = threading.RLock()
        self._doors: dict[DoorName, _SimDoor] = {name: _SimDoor(name) for name in DOOR_NAMES}
        self._tracker = MantrapTracker(zone_beams=zone_beams)
        self._bodies = MantrapBodies(zone_beams, lambda index, blocked: self._feed(self._beam_at(index), blocked))
        self._faults = FaultSet(self._emit)
        self._requested_indicator = Indicator.IDLE
        self._emergency = False
        self._closed = False

    # ----------------------------------------------------------------- GateHardware

    def execute(self, command: DoorCommand) -> None:
        with self._lock:
            self._check_open()
            check_command(command, self.door_positions, emergency=self._emergency)
            door = self._doors[command.door]
            log.debug("sim %s door: %s", door.name, command.action)
            if command.action is DoorAction.OPEN:
                if door.position == DoorPosition.OPEN:
                    self._emit(HardwareEventKind.DOOR_OPENED, door.name)
                else:
                    self._start_move(door, DoorPosition.OPEN)
            elif command.action is DoorAction.CLOSE:
                if door.position in (DoorPosition.CLOSED, DoorPosition.LOCKED):
                    self._emit(HardwareEventKind.DOOR_CLOSED, door.name)
                else:
                    self._start_move(door, DoorPosition.CLOSED)
            elif command.action is DoorAction.LOCK:
                door.position = DoorPosition.LOCKED
                self._emit(HardwareEventKind.DOOR_LOCKED, door.name)
            else:
                if door.position == DoorPosition.LOCKED:
                    door.position = DoorPosition.CLOSED
                self._emit(HardwareEventKind.DOOR_UNLOCKED, door.name)

    def release_all(self) -> None:
        with self._lock:
            self._check_open()
            for door in self._doors.values():
                if door.position == DoorPosition.LOCKED:
                    door.position = DoorPosition.CLOSED
                    self._emit(HardwareEventKind.DOOR_UNLOCKED, door.name)
            for door in self._doors.values():
                if door.position != DoorPosition.OPEN and door.target != DoorPosition.OPEN:
                    self._start_move(door, DoorPosition.OPEN)

    def indicate(self, indicator: Indicator) -> None:
        with self._lock:
            self._requested_indicator = indicator

    @property
    def indicator(self) -> Indicator:
        """What the panel shows: ALARM overrides everything while the fire alarm is active."""
        return Indicator.ALARM if self._emergency else self._requested_indicator

    @property
    def outputs(self) -> IndicatorOutputs:
        return INDICATOR_OUTPUTS[self.indicator]

    @property
    def door_positions(self) -> dict[DoorName, str]:
        return {
            name: DoorPosition.UNKNOWN if door.sensor_broken else door.position
            for name, door in self._doors.items()
        }

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for door in self._doors.values():
                if door.pending is not None:
                    door.pending.cancel()
                    door.pending = None
                if door.position == DoorPosition.MOVING:
                    door.position = DoorPosition.UNKNOWN  # motor stopped mid-travel
                door.target = None

    # ----------------------------------------------------------------- the world

    @property
    def emergency(self) -> bool:
        return self._emergency

    @property
    def people_inside(self) -> int:
        return self._tracker.count

    @property
    def faults(self) -> dict[str, str]:
        return self._faults.active

    def fire_alarm(self, active: bool = True) -> None:
        """The fire alarm input goes active (releases every door) or clears (doors stay put)."""
        with self._lock:
            self._check_open()
            if active == self._emergency:
                return
            self._emergency = active
            if active:
                log.warning("sim: fire alarm active, releasing all doors")
                self._emit(HardwareEventKind.EMERGENCY, detail="fire alarm")
                self.release_all()
            else:
                self._emit(HardwareEventKind.EMERGENCY_CLEARED, detail="fire alarm")

    def jam_door(self, door: DoorName, jammed: bool = True) -> None:
        """From now on ``door`` does (or no longer does) stall before reaching its end position.

        Clearing the jam while the door is still pushing against it lets that movement finish:
        otherwise it stalled anyway, and an emergency release that found the door already
        opening left it shut (found by the stateful gate test)."""
        with self._lock:
            sim_door = self._doors[door]
            pushing = sim_door.jammed and not jammed and sim_door.position == DoorPosition.MOVING
            resume = sim_door.target if pushing else None
            sim_door.jammed = jammed
            if resume is not None:
                self._start_move(sim_door, resume)

    def obstruct_door(self, door: DoorName) -> None:
        """Something the doorway beam misses (a bag, a hand) stops the next close of ``door``."""
        with self._lock:
            self._doors[door].obstruct_next_close = True

    def break_sensor(self, door: DoorName, broken: bool = True) -> None:
        """Both limit switches of ``door`` report active (a wiring fault), or are repaired."""
        with self._lock:
            self._doors[door].sensor_broken = broken
            key = f"{door}:sensor"
            if broken:
                self._faults.raise_(key, door, f"{door} door: open and closed switches both active")
            else:
                self._faults.clear(key)

    def set_beam(self, beam: str, blocked: bool) -> None:
        """Block or clear one beam directly (``entry``, ``zone0``..., ``exit``)."""
        with self._lock:
            self._feed(beam, blocked)

    def person_enters(self) -> None:
        """A traveller walks through the open entry door and stops at the far end of the mantrap."""
        with self._lock:
            self._require_open("entry", "enter")
            self._bodies.enter()

    def tailgate(self) -> None:
        """Two travellers pass the entry beam as one body; the second stays just inside the door."""
        with self._lock:
            self._require_open("entry", "tailgate")
            self._bodies.tailgate()

    def person_exits(self) -> None:
        """The traveller nearest the exit walks out through the open exit door."""
        with self._lock:
            self._require_open("exit", "exit")
            self._bodies.exit()

    def person_backs_out(self) -> None:
        """The traveller nearest the entry walks back out through the open entry door."""
        with self._lock:
            self._require_open("entry", "back out")
            self._bodies.back_out()

    # ----------------------------------------------------------------- internals

    def _beam_at(self, index: int) -> str:
        if index == 0:
            return "entry"
        if index == self._bodies.exit_index:
            return "exit"
        return zone_beam(index - 1)

    def _check_open(self) -> None:
        if self._closed:
            raise HardwareError("simulated gate hardware is closed")

    def _require_open(self, door: DoorName, verb: str) -> None:
        if self._doors[door].position != DoorPosition.OPEN:
            raise SimulationError(f"cannot {verb}: the {door} door is {self._doors[door].position}")

    def _feed(self, beam: str, blocked: bool) -> None:
        for event in self._tracker.update(beam, blocked):
            self._events.emit(event)

    def _start_move(self, door: _SimDoor, target: DoorPosition) -> None:
        if door.pending is not None:
            door.pending.cancel()
        door.move += 1
        door.position = DoorPosition.MOVING
        door.target = target
        if door.jammed:
            self._after(self.door_move_timeout_s, door, lambda: self._stall(door))
        else:
            self._after(self.door_move_s, door, lambda: self._arrive(door))

    def _after(self, delay_s: float, door: _SimDoor, action: Callable[[], None]) -> None:
        if self.instant:
            door.pending = None
            action()
            return

        move = door.move

        def fire() -> None:
            with self._lock:
                # a real timer may already be waiting for the lock when its move is superseded
                if self._closed or door.move != move:
                    return
                door.pending = None
                action()

        door.pending = self.scheduler.call_later(delay_s, fire)

    def _arrive(self, door: _SimDoor) -> None:
        target, door.target = door.target, None
        doorway_blocked = self._tracker.is_blocked(door.name)
        if target == DoorPosition.CLOSED and (door.obstruct_next_close or doorway_blocked) and not self._emergency:
            door.obstruct_next_close = False
            door.position = DoorPosition.OPEN
            cause = "doorway beam blocked" if doorway_blocked else "obstruction"
            self._emit(HardwareEventKind.DOOR_OBSTRUCTED, door.name, f"{cause}; reopening")
            self._emit(HardwareEventKind.DOOR_OPENED, door.name)
            return
        door.position = target or DoorPosition.UNKNOWN
        kind = HardwareEventKind.DOOR_OPENED if target == DoorPosition.OPEN else HardwareEventKind.DOOR_CLOSED
        self._emit(kind, door.name)
        self._faults.clear(f"{door.name}:jam")

    def _stall(self, door: _SimDoor) -> None:
        target, door.target = door.target, None
        door.position = DoorPosition.UNKNOWN
        detail = f"{door.name} door: did not reach {target} within {self.door_move_timeout_s} s"
        self._faults.raise_(f"{door.name}:jam", door.name, detail)
