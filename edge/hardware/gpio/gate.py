"""``GpioGateHardware``: the whole gate on gpiozero devices, built from a ``GpioPinMap``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gpiozero import Device

from edge.hardware.base import (
    DOOR_NAMES,
    INDICATOR_OUTPUTS,
    DoorAction,
    DoorCommand,
    DoorName,
    GateHardware,
    HardwareEventKind,
    Indicator,
)
from edge.hardware.clock import Scheduler
from edge.hardware.errors import HardwareError
from edge.hardware.faults import FaultSet
from edge.hardware.gpio.config import GpioPinMap
from edge.hardware.gpio.devices import Beam, Buzzer, EmergencyInput, Light
from edge.hardware.gpio.door import Door
from edge.hardware.interlock import check_command
from edge.hardware.mantrap import MantrapTracker, zone_beam

log = logging.getLogger(__name__)


class GpioGateHardware(GateHardware):
    """Two interlocked ``Door``s, the mantrap beams, the panel lights and buzzer and the fire alarm.

    The fire alarm input releases both doors from the pin callback itself, without waiting for the
    gate machine; while it is active the panel shows ALARM and nothing may close or lock.

    :param pins: the pin map.
    :param scheduler: times door movement timeouts (real time when omitted).
    :param pin_factory: gpiozero pin factory (``MockFactory`` in tests; the default otherwise).
    """

    def __init__(self, pins: GpioPinMap, *, scheduler: Scheduler | None = None, pin_factory: object = None) -> None:
        super().__init__()
        self._mutex = threading.RLock()
        self._devices: list[Device] = []
        self._closed = False
        self._emergency = False
        self._requested = Indicator.IDLE
        self._faults = FaultSet(self._emit)
        self._tracker = MantrapTracker(zone_beams=len(pins.zone_beams))
        try:
            self.doors: dict[DoorName, Door] = {}
            for name in DOOR_NAMES:
                p = getattr(pins, name)
                door = Door(
                    p.motor_open, p.motor_close, p.lock, p.open_switch, p.closed_switch, p.doorway_beam,
                    name=name, move_timeout_s=pins.door_move_timeout_s, scheduler=scheduler,
                    pin_factory=pin_factory,
                )  # fmt: skip
                self._devices.append(door)
                self.doors[name] = door
            self.doors["entry"].interlock_with(self.doors["exit"])
            self.zone_beams = [self._add(Beam(pin, pin_factory=pin_factory)) for pin in pins.zone_beams]
            self.lights = {
                colour: self._add(Light(getattr(pins, colour), pin_factory=pin_factory))
                for colour in ("green", "amber", "red")
            }
            self.buzzer = self._add(Buzzer(pins.buzzer, pin_factory=pin_factory))
            self.emergency_input = self._add(EmergencyInput(pins.emergency, pin_factory=pin_factory))
        except Exception:
            self.close()
            raise
        for name, door in self.doors.items():
            self._wire_door(name, door)
        for index, beam in enumerate(self.zone_beams):
            self._wire_beam(zone_beam(index), beam)
        self.emergency_input.when_activated = self._alarm
        self.emergency_input.when_deactivated = self._alarm_cleared
        self._show()
        if self.emergency_input.is_active:
            self._alarm()

    # ---------------------------------------------------------------- GateHardware

    def execute(self, command: DoorCommand) -> None:
        with self._mutex:
            self._check_open()
            check_command(command, self.door_positions, emergency=self._emergency)
            door = self.doors[command.door]
            if command.action is DoorAction.OPEN:
                door.open()
            elif command.action is DoorAction.CLOSE:
                door.shut()
            elif command.action is DoorAction.LOCK:
                door.lock()
            else:
                door.unlock()

    def release_all(self) -> None:
        with self._mutex:
            self._check_open()
            for door in self.doors.values():
                door.release()

    def indicate(self, indicator: Indicator) -> None:
        with self._mutex:
            self._requested = indicator
            self._show()

    @property
    def door_positions(self) -> dict[DoorName, str]:
        return {name: door.position for name, door in self.doors.items()}

    @property
    def people_inside(self) -> int:
        return self._tracker.count

    @property
    def emergency(self) -> bool:
        return self._emergency

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            for device in reversed(self._devices):
                device.close()  # doors stop their motors first

    # ---------------------------------------------------------------- internals

    def _add(self, device: Device) -> Device:
        self._devices.append(device)
        return device

    def _check_open(self) -> None:
        if self._closed:
            raise HardwareError("GPIO gate hardware is closed")

    def _show(self) -> None:
        outputs = INDICATOR_OUTPUTS[Indicator.ALARM if self._emergency else self._requested]
        for colour, light in self.lights.items():
            light.value = getattr(outputs, colour)
        self.buzzer.value = outputs.buzzer

    def _wire_door(self, name: DoorName, door: Door) -> None:
        def arrived(kind: HardwareEventKind) -> None:
            self._emit(kind, name)
            self._faults.clear(f"{name}:jam")

        door.when_opened = lambda: arrived(HardwareEventKind.DOOR_OPENED)
        door.when_closed = lambda: arrived(HardwareEventKind.DOOR_CLOSED)
        door.when_locked = lambda: self._emit(HardwareEventKind.DOOR_LOCKED, name)
        door.when_unlocked = lambda: self._emit(HardwareEventKind.DOOR_UNLOCKED, name)
        door.when_obstructed = lambda: self._emit(HardwareEventKind.DOOR_OBSTRUCTED, name, "doorway beam blocked")
        door.when_fault = lambda error: self._faults.raise_(f"{name}:jam", name, str(error))
        self._wire_beam(name, door.doorway)

    def _wire_beam(self, beam_name: str, beam: Beam) -> None:
        beam.when_activated = self._chain(beam.when_activated, lambda: self._beam(beam_name, True))
        beam.when_deactivated = lambda: self._beam(beam_name, False)

    @staticmethod
    def _chain(first: Callable[[], None] | None, second: Callable[[], None]) -> Callable[[], None]:
        """Run the door's own handler (obstruction) before the mantrap tracker's."""
        if first is None:
            return second

        def both() -> None:
            first()
            second()

        return both

    def _beam(self, beam_name: str, blocked: bool) -> None:
        with self._mutex:
            events = self._tracker.update(beam_name, blocked)
        for event in events:
            self._events.emit(event)

    def _alarm(self) -> None:
        log.warning("fire alarm input active: releasing all doors")
        with self._mutex:
            self._emergency = True
            self._show()
            self._emit(HardwareEventKind.EMERGENCY, detail="fire alarm")
            for door in self.doors.values():
                door.release()

    def _alarm_cleared(self) -> None:
        log.info("fire alarm input cleared")
        with self._mutex:
            self._emergency = False
            self._show()
            self._emit(HardwareEventKind.EMERGENCY_CLEARED, detail="fire alarm")
