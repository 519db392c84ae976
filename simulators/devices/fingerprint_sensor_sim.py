"""An R30x / AS608 fingerprint sensor on a pty: place a finger image and the sensor serves it.

Answers Handshake, VfyPwd, ReadSysPara, GenImg and UpImage like the real module (unknown
instructions get confirmation 0x01), with data packets of the configured size.
"""

from __future__ import annotations

import logging
import struct
import threading

import numpy as np

from edge.hardware.fingerprint_sensor import codec as C
from simulators.devices.pty_port import PtyPort

log = logging.getLogger(__name__)


def synthetic_finger(seed: int = 0) -> np.ndarray:
    """A 288 x 256 ridge-like pattern (curved sinusoidal ridges on a dark background) for demos."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:C.IMAGE_HEIGHT, 0:C.IMAGE_WIDTH].astype(np.float32)
    cy, cx = C.IMAGE_HEIGHT * rng.uniform(0.35, 0.65), C.IMAGE_WIDTH * rng.uniform(0.35, 0.65)
    r = np.hypot((y - cy) * 0.8, x - cx)
    ridges = 0.5 + 0.5 * np.sin(r / rng.uniform(3.0, 4.5) + 0.002 * (x - cx) * (y - cy) / 10)
    mask = ((y - cy) / 140) ** 2 + ((x - cx) / 110) ** 2 < 1.0
    return np.where(mask, 255 - ridges * 200, 255).astype(np.uint8)


class FingerprintSensorSimulator:
    def __init__(self, *, address: int = C.DEFAULT_ADDRESS, password: int = 0, packet_size: int = 128) -> None:
        self.address = address
        self.password = password
        self.parameters = C.SystemParameters(0, 0x0009, 300, 3, address, packet_size, 57600)
        self.pty = PtyPort()
        self.stopping = threading.Event()
        self._finger: np.ndarray | None = None
        self._buffer: bytes | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="fingerprint-sensor-sim", daemon=True)
        self.commands: list[int] = []  # instruction codes received, for tests

    @property
    def port_name(self) -> str:
        return self.pty.port_name

    def start(self) -> FingerprintSensorSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self.pty.close()

    def __enter__(self) -> FingerprintSensorSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def place_finger(self, image: np.ndarray | None = None) -> None:
        with self._lock:
            self._finger = synthetic_finger() if image is None else image

    def lift_finger(self) -> None:
        with self._lock:
            self._finger = None

    def _serve(self) -> None:
        decoder = C.PacketDecoder()
        while not self.stopping.is_set():
            if not self.pty.wait_readable(0.05):
                continue
            data = self.pty.read(512)
            for packet in decoder.feed(data):
                if isinstance(packet, C.BadPacket):
                    self._ack(C.ERR_PACKET)
                elif packet.address == self.address and packet.pid == C.PID_COMMAND and packet.payload:
                    with self._lock:
                        self._answer(packet.payload[0], packet.payload[1:])

    def _ack(self, code: int, data: bytes = b"") -> None:
        self.pty.write(C.encode_packet(C.PID_ACK, bytes([code]) + data, self.address))

    def _answer(self, instruction: int, params: bytes) -> None:
        self.commands.append(instruction)
        if instruction == C.HANDSHAKE:
            self._ack(C.OK)
        elif instruction == C.VFY_PWD:
            ok = len(params) == 4 and struct.unpack(">I", params)[0] == self.password
            self._ack(C.OK if ok else C.ERR_WRONG_PASSWORD)
        elif instruction == C.READ_SYS_PARA:
            self._ack(C.OK, self.parameters.encode())
        elif instruction == C.GEN_IMG:
            if self._finger is None:
                self._ack(C.ERR_NO_FINGER)
            else:
                self._buffer = C.pack_image(self._finger)
                self._ack(C.OK)
        elif instruction == C.UP_IMAGE:
            if self._buffer is None:
                self._ack(C.ERR_NO_IMAGE)
                return
            self._ack(C.OK)
            size = self.parameters.packet_size
            chunks = [self._buffer[i : i + size] for i in range(0, len(self._buffer), size)]
            for index, chunk in enumerate(chunks):
                pid = C.PID_END if index == len(chunks) - 1 else C.PID_DATA
                self.pty.write(C.encode_packet(pid, chunk, self.address))
        else:
            self._ack(C.ERR_PACKET)
