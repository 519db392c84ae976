"""Thin gpiozero devices for the gate; each docstring says how it is wired.

Inputs that guard people (beams, fire alarm) are wired fail-safe: a cut wire reads as "blocked"
or "alarm", never as "all clear". That needs an external pull-up resistor, so they are built with
``pull_up=None, active_state=True``.
"""

from __future__ import annotations

from gpiozero import DigitalInputDevice, DigitalOutputDevice, LED
from gpiozero import Buzzer as _Buzzer


class Lock(DigitalOutputDevice):
    """A power-to-lock maglock relay: on = locked.

    Losing power (or closing the device) unlocks, as fire codes require for egress doors.
    """

    is_locked = DigitalOutputDevice.is_active


class LimitSwitch(DigitalInputDevice):
    """A door end-position switch closing to ground (internal pull-up): pressed = door there.

    A plain input rather than a ``Button``: a door needs no hold detection, and Button's hold
    thread makes every close wait for it.
    """

    def __init__(self, pin=None, *, pin_factory=None):  # type: ignore[no-untyped-def]
        super().__init__(pin, pull_up=True, pin_factory=pin_factory)

    is_pressed = DigitalInputDevice.is_active
    when_pressed = DigitalInputDevice.when_activated
    when_released = DigitalInputDevice.when_deactivated


class Beam(DigitalInputDevice):
    """An infrared through-beam receiver with an open-collector output and an external pull-up.

    The receiver pulls the line low while it sees its emitter, so a broken beam or a cut wire
    reads high: active = blocked.
    """

    def __init__(self, pin=None, *, pin_factory=None):  # type: ignore[no-untyped-def]
        super().__init__(pin, pull_up=None, active_state=True, pin_factory=pin_factory)

    is_blocked = DigitalInputDevice.is_active
    when_blocked = DigitalInputDevice.when_activated
    when_cleared = DigitalInputDevice.when_deactivated
    wait_for_blocked = DigitalInputDevice.wait_for_active
    wait_for_clear = DigitalInputDevice.wait_for_inactive


class EmergencyInput(DigitalInputDevice):
    """The fire alarm panel's normally-closed relay contact to ground, with an external pull-up.

    The loop is closed (low) in normal operation; an alarm or a cut wire opens it (high): active =
    emergency.
    """

    def __init__(self, pin=None, *, pin_factory=None):  # type: ignore[no-untyped-def]
        super().__init__(pin, pull_up=None, active_state=True, pin_factory=pin_factory)

    is_alarm = DigitalInputDevice.is_active
    when_alarm = DigitalInputDevice.when_activated
    when_alarm_cleared = DigitalInputDevice.when_deactivated


class Light(LED):
    """One lamp of the traveller panel (green, amber or red), driven through a transistor."""


class Buzzer(_Buzzer):
    """The panel's active buzzer, driven through a transistor: on = sounding."""
