"""Errors of the fingerprint sensor driver.

::

    HardwareError
    └── SerialDeviceError (OSError)
        └── FingerprintSensorError              the sensor or its line failed
            ├── SensorTimeout (TimeoutError)    no (complete) answer in time
            ├── SensorPacketError (ValueError)  checksum or framing error, wrong reply shape
            └── SensorRefused                   a non-zero confirmation code (``code`` attribute)
                └── WrongPassword (PermissionError)
"""

from __future__ import annotations

from edge.hardware.errors import FingerprintSensorError

__all__ = ["FingerprintSensorError", "SensorPacketError", "SensorRefused", "SensorTimeout", "WrongPassword"]


class SensorTimeout(FingerprintSensorError, TimeoutError):
    """The sensor did not answer (or finish an upload) in time."""


class SensorPacketError(FingerprintSensorError, ValueError):
    """A packet failed its checksum or the reply had the wrong shape."""


class SensorRefused(FingerprintSensorError):
    """The sensor answered with a non-zero confirmation code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class WrongPassword(SensorRefused, PermissionError):
    """The sensor's handshake password did not match."""
