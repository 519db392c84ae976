"""Errors raised by the gate's hardware adapters.

The tree (each leaf also inherits the builtin it resembles, so callers may catch either)::

    HardwareError
    ├── InterlockViolation (RuntimeError)  a command would break a safety interlock; nothing moved
    ├── DoorJammed (TimeoutError)          a door did not reach its end position in time
    ├── SensorFault (RuntimeError)         a sensor reports an impossible state (both limit switches)
    ├── SimulationError (RuntimeError)     a simulated traveller did something the world forbids
    └── SerialDeviceError (OSError)        a serial device failed or answered nonsense
        ├── DoorBoardError                 the door board (firmware/) failed; see doorboard/errors.py
        ├── PassportReaderError            see passport_reader/errors.py
        └── FingerprintSensorError         see fingerprint_sensor/errors.py

Device folders add their own leaves under these (for example ``DoorBoardTimeout``).
"""

from __future__ import annotations


class HardwareError(Exception):
    """Base of every error raised by edge.hardware."""


class InterlockViolation(HardwareError, RuntimeError):
    """A command was refused because it would break an interlock; nothing was driven."""


class DoorJammed(HardwareError, TimeoutError):
    """A door did not reach its commanded end position within its move timeout."""


class SensorFault(HardwareError, RuntimeError):
    """A sensor reports a state that cannot be true, such as a door both open and closed."""


class SimulationError(HardwareError, RuntimeError):
    """A simulated person or device was asked to do what the physical world would not allow."""


class SerialDeviceError(HardwareError, OSError):
    """A device reached over a serial port failed, timed out or sent a malformed reply."""


class DoorBoardError(SerialDeviceError):
    """The door board (our firmware over serial) failed or refused a command."""


class PassportReaderError(SerialDeviceError):
    """The serial passport reader failed or sent a malformed record."""


class FingerprintSensorError(SerialDeviceError):
    """The R30x/AS608 fingerprint sensor failed or answered with an error code."""
