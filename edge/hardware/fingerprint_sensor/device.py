"""``FingerprintSensor``: an R30x / AS608 optical fingerprint sensor on a serial line.

Request and reply, no background thread: each call writes one command packet and reads until its
answer (and, for ``upload_image``, every data packet) has arrived or ``timeout_s`` has passed.
Templates and matching are ours (edge.fingerprint), so only the image commands are used. Images
are never logged.
"""

from __future__ import annotations

import collections
import logging
import struct
import threading
import time
from typing import Any

import numpy as np
import serial

from edge.hardware.fingerprint_sensor import codec as C
from edge.hardware.fingerprint_sensor.errors import (
    FingerprintSensorError,
    SensorPacketError,
    SensorRefused,
    SensorTimeout,
    WrongPassword,
)

log = logging.getLogger(__name__)


class FingerprintSensor:
    """An R30x/AS608 sensor.

    :param port: an open pyserial ``Serial`` (57600 baud is the sensors' default); ``open`` opens one.
    :param address: the sensor's 4-byte address (0xFFFFFFFF unless reprogrammed).
    :param password: the handshake password (0 unless reprogrammed).
    :param timeout_s: how long one command may take, an image upload included.
    """

    def __init__(self, *, port: Any, address: int = C.DEFAULT_ADDRESS, password: int = 0, timeout_s: float = 2.0,
                 owns_port: bool = False) -> None:  # fmt: skip
        self._port = port
        self._name = str(getattr(port, "port", None) or "fingerprint sensor")
        self._address = address
        self._password = password
        self._timeout_s = timeout_s
        self._owns_port = owns_port
        self._decoder = C.PacketDecoder()
        self._inbox: collections.deque[C.Packet | C.BadPacket] = collections.deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    @classmethod
    def open(cls, port_name: str, *, baudrate: int = 57600, **kwargs: Any) -> FingerprintSensor:
        try:
            port = serial.serial_for_url(port_name, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, OSError) as exc:
            raise FingerprintSensorError(f"fingerprint sensor {port_name}: cannot open: {exc}") from exc
        return cls(port=port, owns_port=True, **kwargs)

    # ---------------------------------------------------------------- commands

    def handshake(self) -> None:
        self._expect_ok(C.HANDSHAKE, b"", "handshake")

    def verify_password(self) -> None:
        self._expect_ok(C.VFY_PWD, struct.pack(">I", self._password), "verify password")

    def read_parameters(self) -> C.SystemParameters:
        payload = self._expect_ok(C.READ_SYS_PARA, b"", "read parameters")
        try:
            return C.SystemParameters.parse(payload[1:])
        except ValueError as exc:
            raise SensorPacketError(f"fingerprint sensor {self._name}: {exc}") from exc

    def capture_image(self) -> bool:
        """GenImg: True if a finger was imaged into the sensor's buffer, False if none is there."""
        payload = self._transact(C.GEN_IMG, b"")
        if payload[0] == C.ERR_NO_FINGER:
            return False
        self._check(payload, "capture image")
        return True

    def upload_image(self) -> np.ndarray:
        """UpImage: the buffered image as a 288 x 256 uint8 array."""
        with self._lock:
            deadline = time.monotonic() + self._timeout_s
            self._inbox.clear()
            self._write(C.command(C.UP_IMAGE, b"", self._address))
            self._check(self._read_packet(C.PID_ACK, deadline).payload, "upload image")
            chunks = []
            while True:
                packet = self._read_packet(None, deadline)
                if packet.pid not in (C.PID_DATA, C.PID_END):
                    raise SensorPacketError(f"fingerprint sensor {self._name}: packet 0x{packet.pid:02x} in an image")
                chunks.append(packet.payload)
                if packet.pid == C.PID_END:
                    break
        data = b"".join(chunks)
        try:
            return C.unpack_image(data)
        except ValueError as exc:
            raise SensorPacketError(f"fingerprint sensor {self._name}: {exc}") from exc

    def capture(self, timeout_s: float = 10.0, poll_s: float = 0.1) -> np.ndarray:
        """Wait for a finger (polling GenImg every ``poll_s``), then upload its image."""
        deadline = time.monotonic() + timeout_s
        while not self.capture_image():
            if time.monotonic() >= deadline:
                raise SensorTimeout(f"fingerprint sensor {self._name}: no finger within {timeout_s} s")
            if self.stopping.wait(poll_s):  # the sensor must be polled; close() cuts the wait short
                raise FingerprintSensorError(f"fingerprint sensor {self._name}: closed while waiting")
        return self.upload_image()

    def close(self) -> None:
        self.stopping.set()
        if self._owns_port:
            with self._lock:
                self._port.close()
            self._owns_port = False

    def __enter__(self) -> FingerprintSensor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- internals

    def _expect_ok(self, instruction: int, params: bytes, what: str) -> bytes:
        payload = self._transact(instruction, params)
        self._check(payload, what)
        return payload

    def _check(self, payload: bytes, what: str) -> None:
        code = payload[0]
        if code == C.OK:
            return
        text = f"fingerprint sensor {self._name}: {what}: {C.CONFIRMATIONS.get(code, f'code 0x{code:02x}')}"
        if code == C.ERR_WRONG_PASSWORD:
            raise WrongPassword(text, code)
        raise SensorRefused(text, code)

    def _transact(self, instruction: int, params: bytes) -> bytes:
        with self._lock:
            deadline = time.monotonic() + self._timeout_s
            self._inbox.clear()  # a late answer to an earlier, timed-out command
            self._write(C.command(instruction, params, self._address))
            return self._read_packet(C.PID_ACK, deadline).payload

    def _write(self, data: bytes) -> None:
        if self.stopping.is_set():
            raise FingerprintSensorError(f"fingerprint sensor {self._name}: closed")
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise FingerprintSensorError(f"fingerprint sensor {self._name}: write failed: {exc}") from exc

    def _read_packet(self, pid: int | None, deadline: float) -> C.Packet:
        """The next packet for our address (of type ``pid`` if given), read up to ``deadline``."""
        while True:
            while self._inbox:
                packet = self._inbox.popleft()
                if isinstance(packet, C.BadPacket):
                    raise SensorPacketError(
                        f"fingerprint sensor {self._name}: checksum error in a 0x{packet.pid:02x} packet"
                    )
                if packet.address != self._address:
                    log.warning("fingerprint sensor %s: packet for address %08x ignored", self._name, packet.address)
                    continue
                if pid is not None and packet.pid != pid:
                    raise SensorPacketError(
                        f"fingerprint sensor {self._name}: expected packet 0x{pid:02x}, got 0x{packet.pid:02x}"
                    )
                if pid == C.PID_ACK and not packet.payload:
                    raise SensorPacketError(f"fingerprint sensor {self._name}: empty acknowledgement")
                return packet
            if time.monotonic() >= deadline:
                raise SensorTimeout(f"fingerprint sensor {self._name}: no answer within {self._timeout_s} s")
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise FingerprintSensorError(f"fingerprint sensor {self._name}: read failed: {exc}") from exc
            self._inbox.extend(self._decoder.feed(data))
