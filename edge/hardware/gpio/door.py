"""``Door``: one motorised mantrap door as a gpiozero composite that keeps itself safe.

Parts: an H-bridge ``Motor`` (forward = opening, backward = closing; gpiozero turns one side off
before driving the other), a ``Lock``, two ``LimitSwitch`` end stops and, optionally, the doorway
``Beam``. The interlocks live here, not in the gate logic:

- the motor is never driven against the engaged lock (``open`` refuses a locked door);
- a door never opens unless its interlock partner is shut (``interlock_with``), except ``release``;
- the lock only engages on a closed, stopped door;
- a door closing on a blocked doorway beam stops and reopens;
- a door that does not reach its end stop within ``move_timeout_s`` stops and reports a fault,
  as does a door whose two end stops are both active, or one pushed off its closed stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal

from gpiozero import CompositeDevice, Motor

from edge.hardware.base import DoorPosition
from edge.hardware.clock import Cancellable, Scheduler, ThreadScheduler
from edge.hardware.errors import DoorJammed, HardwareError, InterlockViolation, SensorFault
from edge.hardware.gpio.devices import Beam, LimitSwitch, Lock

log = logging.getLogger(__name__)

Target = Literal["open", "closed"]
PinId = int | str


class Door(CompositeDevice):
    """A motorised door with lock, end stops and (optionally) a doorway beam.

    :param motor_open_pin: H-bridge input that drives the door open.
    :param motor_close_pin: H-bridge input that drives the door closed.
    :param lock_pin: maglock relay (on = locked).
    :param open_switch_pin: end stop active when fully open.
    :param closed_switch_pin: end stop active when fully closed.
    :param doorway_beam_pin: beam across the doorway; a closing door reverses when it is blocked.
    :param name: "entry" or "exit", used in messages.
    :param move_timeout_s: how long a movement may take before the door is declared jammed
        (SOP movement time is 1 s; default 3 s).
    :param scheduler: times the movement timeout (real time when omitted).

    Callbacks (set as attributes, like gpiozero's ``when_pressed``): ``when_opened``,
    ``when_closed``, ``when_locked``, ``when_unlocked``, ``when_obstructed`` (no argument) and
    ``when_fault(error)`` with a ``DoorJammed`` or ``SensorFault``.
    """

    def __init__(
        self,
        motor_open_pin: PinId,
        motor_close_pin: PinId,
        lock_pin: PinId,
        open_switch_pin: PinId,
        closed_switch_pin: PinId,
        doorway_beam_pin: PinId | None = None,
        *,
        name: str = "door",
        move_timeout_s: float = 3.0,
        scheduler: Scheduler | None = None,
        pin_factory: object = None,
    ) -> None:
        # set before anything can raise: close() reads them
        self._mutex = threading.RLock()
        self._target: Target | None = None
        self._move = 0  # bumped per movement, so a stale timer cannot fault a newer one
        self._timer: Cancellable | None = None
        self._partner: Door | None = None
        self._name = name
        self._move_timeout_s = move_timeout_s
        self._scheduler: Scheduler = scheduler if scheduler is not None else ThreadScheduler()
        self.when_opened: Callable[[], None] | None = None
        self.when_closed: Callable[[], None] | None = None
        self.when_locked: Callable[[], None] | None = None
        self.when_unlocked: Callable[[], None] | None = None
        self.when_obstructed: Callable[[], None] | None = None
        self.when_fault: Callable[[HardwareError], None] | None = None
        parts: dict[str, object] = {}
        try:
            parts["motor"] = Motor(motor_open_pin, motor_close_pin, pwm=False, pin_factory=pin_factory)
            parts["maglock"] = Lock(lock_pin, pin_factory=pin_factory)
            parts["open_switch"] = LimitSwitch(open_switch_pin, pin_factory=pin_factory)
            parts["closed_switch"] = LimitSwitch(closed_switch_pin, pin_factory=pin_factory)
            if doorway_beam_pin is not None:
                parts["doorway"] = Beam(doorway_beam_pin, pin_factory=pin_factory)
        except Exception:
            for part in parts.values():
                part.close()  # type: ignore[attr-defined]
            raise
        super().__init__(_order=list(parts), pin_factory=pin_factory, **parts)  # type: ignore[arg-type]
        self.open_switch.when_pressed = self._reached_open
        self.closed_switch.when_pressed = self._reached_closed
        self.closed_switch.when_released = self._left_closed
        if doorway_beam_pin is not None:
            self.doorway.when_activated = self._doorway_blocked

    # ---------------------------------------------------------------- state

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_open(self) -> bool:
        return bool(self.open_switch.is_active) and not self.closed_switch.is_active

    @property
    def is_closed(self) -> bool:
        return bool(self.closed_switch.is_active) and not self.open_switch.is_active

    @property
    def is_locked(self) -> bool:
        return bool(self.maglock.is_active)

    @property
    def is_moving(self) -> bool:
        return bool(self.motor.is_active)

    @property
    def is_shut(self) -> bool:
        """Closed and stopped: the partner door may open."""
        return self.is_closed and not self.is_moving

    @property
    def is_doorway_blocked(self) -> bool:
        return "doorway" in self._named and bool(self.doorway.is_active)

    @property
    def position(self) -> DoorPosition:
        if self.open_switch.is_active and self.closed_switch.is_active:
            return DoorPosition.UNKNOWN
        if self.is_moving:
            return DoorPosition.MOVING
        if self.is_open:
            return DoorPosition.OPEN
        if self.is_closed:
            return DoorPosition.LOCKED if self.is_locked else DoorPosition.CLOSED
        return DoorPosition.UNKNOWN

    def interlock_with(self, other: Door) -> None:
        """Make this door and ``other`` refuse to open unless the other one is shut."""
        self._partner, other._partner = other, self

    # ---------------------------------------------------------------- verbs

    def open(self) -> None:
        """Drive the door open; ``when_opened`` fires at the open end stop."""
        with self._mutex:
            if self.is_locked:
                raise InterlockViolation(f"{self._name} door: locked, unlock before opening")
            partner = self._partner
            if partner is not None and not partner.is_shut:
                raise InterlockViolation(
                    f"{self._name} door: cannot open while the {partner.name} door is {partner.position}"
                )
            self._start("open")

    def shut(self) -> None:
        """Drive the door closed; it reverses if the doorway beam is blocked (``close`` releases pins)."""
        with self._mutex:
            if self.is_doorway_blocked:
                self._fire(self.when_obstructed)
                return
            self._start("closed")

    def lock(self) -> None:
        with self._mutex:
            if not self.is_shut:
                raise InterlockViolation(f"{self._name} door: cannot lock while {self.position}")
            self.maglock.on()
        self._fire(self.when_locked)

    def unlock(self) -> None:
        with self._mutex:
            self.maglock.off()
        self._fire(self.when_unlocked)

    def release(self) -> None:
        """Emergency: unlock and open now, whatever the partner door is doing."""
        with self._mutex:
            self.maglock.off()
            self._start("open")

    def stop(self) -> None:
        """Cut the motor; the door stays where it is."""
        with self._mutex:
            self._cancel_timer()
            self._target = None
            self.motor.stop()

    def close(self) -> None:
        """Stop the motor and release the pins (the maglock unlocks). Idempotent."""
        if not getattr(self, "_all", ()):
            return  # never finished building (or already closed): the constructor closed the parts
        if not self.closed:
            self.stop()
        super().close()

    # ---------------------------------------------------------------- internals

    def _start(self, target: Target) -> None:
        already = self.is_open if target == "open" else self.is_closed
        if already:
            self.stop()
            self._fire(self.when_opened if target == "open" else self.when_closed)
            return
        self._cancel_timer()
        self._target = target
        self._move += 1
        if target == "open":
            self.motor.forward()
        else:
            self.motor.backward()
        move = self._move
        self._timer = self._scheduler.call_later(self._move_timeout_s, lambda: self._timed_out(move, target))

    def _timed_out(self, move: int, target: Target) -> None:
        with self._mutex:
            if self._move != move or self._target is None or self.closed:
                return
            self.stop()
        self._fire_fault(DoorJammed(f"{self._name} door: did not reach {target} within {self._move_timeout_s} s"))

    def _reached_open(self) -> None:
        if self._switches_disagree():
            return
        with self._mutex:
            if self._target != "open":
                return
            self.stop()
        self._fire(self.when_opened)

    def _reached_closed(self) -> None:
        if self._switches_disagree():
            return
        with self._mutex:
            if self._target != "closed":
                return
            self.stop()
        self._fire(self.when_closed)

    def _left_closed(self) -> None:
        with self._mutex:
            forced = self._target is None
        if forced:
            self._fire_fault(SensorFault(f"{self._name} door: pushed off its closed stop"))

    def _doorway_blocked(self) -> None:
        with self._mutex:
            if self._target != "closed":
                return
            self.motor.stop()
            self._start("open")
        self._fire(self.when_obstructed)

    def _switches_disagree(self) -> bool:
        if not (self.open_switch.is_active and self.closed_switch.is_active):
            return False
        self.stop()
        self._fire_fault(SensorFault(f"{self._name} door: open and closed switches both active"))
        return True

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self, callback: Callable[[], None] | None) -> None:
        if callback is not None:
            callback()

    def _fire_fault(self, error: HardwareError) -> None:
        log.warning("%s", error)
        if self.when_fault is not None:
            self.when_fault(error)
