"""``FakeFingerprintSensor``: the ``FingerprintSensor`` surface with no serial line, for gate tests.

Images pass through the sensor's 4-bit quantisation (``pack_image`` / ``unpack_image``), so what
the engine sees is what a real R30x would deliver.
"""

from __future__ import annotations

import threading

import numpy as np

from edge.hardware.fingerprint_sensor import codec as C
from edge.hardware.fingerprint_sensor.errors import FingerprintSensorError, SensorRefused, SensorTimeout


class FakeFingerprintSensor:
    def __init__(self, parameters: C.SystemParameters | None = None) -> None:
        self.parameters = parameters or C.SystemParameters(0, 9, 300, 3, C.DEFAULT_ADDRESS, 128, 57600)
        self._finger: np.ndarray | None = None
        self._buffer: bytes | None = None
        self._placed = threading.Event()
        self.stopping = threading.Event()

    def place_finger(self, image: np.ndarray) -> None:
        C.pack_image(image)  # shape check, as the real sensor's fixed frame would impose
        self._finger = image
        self._placed.set()

    def lift_finger(self) -> None:
        self._finger = None
        self._placed.clear()

    def handshake(self) -> None:
        self._check_open()

    def verify_password(self) -> None:
        self._check_open()

    def read_parameters(self) -> C.SystemParameters:
        self._check_open()
        return self.parameters

    def capture_image(self) -> bool:
        self._check_open()
        if self._finger is None:
            return False
        self._buffer = C.pack_image(self._finger)
        return True

    def upload_image(self) -> np.ndarray:
        self._check_open()
        if self._buffer is None:
            raise SensorRefused("fake fingerprint sensor: upload image: no valid image in the buffer", C.ERR_NO_IMAGE)
        return C.unpack_image(self._buffer)

    def capture(self, timeout_s: float = 10.0, poll_s: float = 0.1) -> np.ndarray:
        if not self._placed.wait(timeout_s):
            raise SensorTimeout(f"fake fingerprint sensor: no finger within {timeout_s} s")
        if not self.capture_image():
            raise SensorTimeout("fake fingerprint sensor: the finger was lifted")
        return self.upload_image()

    def close(self) -> None:
        self.stopping.set()
        self._placed.set()  # wake a waiting capture

    def _check_open(self) -> None:
        if self.stopping.is_set():
            raise FingerprintSensorError("fake fingerprint sensor: closed")
