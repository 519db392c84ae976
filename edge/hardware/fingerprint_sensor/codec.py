"""The R30x / AS608 / ZFM-20 fingerprint sensor packet protocol (pure).

Packet layout (big-endian)::

    HEADER 0xEF01 | ADDRESS (4) | PID (1) | LENGTH (2) | PAYLOAD | CHECKSUM (2)

LENGTH counts PAYLOAD + CHECKSUM; CHECKSUM is the low 16 bits of PID + both LENGTH bytes + every
PAYLOAD byte. A command packet's payload is the instruction code and its parameters; the sensor
answers with an ACK packet whose first payload byte is the confirmation code; ``UpImage`` is
followed by DATA packets (PID 0x02) ending with an END packet (PID 0x08) carrying the image at
4 bits per pixel, two pixels per byte, high nibble first, 256 x 288 pixels.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF

PID_COMMAND = 0x01
PID_DATA = 0x02
PID_ACK = 0x07
PID_END = 0x08

# instruction codes
GEN_IMG = 0x01  # capture a finger image into the image buffer
UP_IMAGE = 0x0A  # upload the image buffer
READ_SYS_PARA = 0x0F  # read the 16-byte system parameter block
VFY_PWD = 0x13  # verify the 4-byte handshake password
HANDSHAKE = 0x40  # R30x: is the sensor alive

# confirmation codes (ACK payload byte 0)
OK = 0x00
ERR_PACKET = 0x01
ERR_NO_FINGER = 0x02
ERR_IMAGE_FAIL = 0x03
ERR_UPLOAD_FAIL = 0x0F
ERR_WRONG_PASSWORD = 0x13
ERR_NO_IMAGE = 0x15

CONFIRMATIONS = {
    OK: "ok",
    ERR_PACKET: "error receiving the packet",
    ERR_NO_FINGER: "no finger on the sensor",
    ERR_IMAGE_FAIL: "failed to capture the finger image",
    ERR_UPLOAD_FAIL: "failed to upload the image",
    ERR_WRONG_PASSWORD: "wrong password",
    ERR_NO_IMAGE: "no valid image in the buffer",
}

IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288
IMAGE_BYTES = IMAGE_WIDTH * IMAGE_HEIGHT // 2
PACKET_SIZES = (32, 64, 128, 256)  # data packet payload size by the parameter block's code
MAX_PAYLOAD = 256 + 16


def checksum(pid: int, payload: bytes) -> int:
    length = len(payload) + 2
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes is too long")
    return (
        HEADER
        + struct.pack(">IBH", address, pid, len(payload) + 2)
        + bytes(payload)
        + struct.pack(">H", checksum(pid, payload))
    )


def command(instruction: int, params: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    return encode_packet(PID_COMMAND, bytes([instruction]) + params, address)


@dataclass(frozen=True)
class Packet:
    address: int
    pid: int
    payload: bytes


@dataclass(frozen=True)
class BadPacket:
    """A packet whose checksum failed; decoding resumed after it."""

    pid: int


class PacketDecoder:
    """Reassembles packets from the byte stream, skipping noise up to the next header."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_packets = 0

    def feed(self, data: bytes) -> list[Packet | BadPacket]:
        self._buf += data
        out: list[Packet | BadPacket] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                del self._buf[: max(0, len(self._buf) - 1)]  # keep a trailing 0xEF
                return out
            del self._buf[:start]
            if len(self._buf) < 9:
                return out
            address, pid, length = struct.unpack(">IBH", self._buf[2:9])
            if length < 2 or length - 2 > MAX_PAYLOAD:
                del self._buf[:1]
                continue
            if len(self._buf) < 9 + length:
                return out
            payload = bytes(self._buf[9 : 9 + length - 2])
            (got,) = struct.unpack(">H", self._buf[7 + length : 9 + length])
            if got != checksum(pid, payload):
                self.bad_packets += 1
                out.append(BadPacket(pid))
                del self._buf[:2]
                continue
            del self._buf[: 9 + length]
            out.append(Packet(address, pid, payload))


@dataclass(frozen=True)
class SystemParameters:
    status: int
    system_id: int
    library_size: int
    security_level: int
    address: int
    packet_size: int  # bytes per data packet
    baud: int

    @classmethod
    def parse(cls, block: bytes) -> SystemParameters:
        if len(block) != 16:
            raise ValueError(f"system parameter block must be 16 bytes, got {len(block)}")
        status, system_id, library, level, address, size_code, baud_n = struct.unpack(">HHHHIHH", block)
        if size_code >= len(PACKET_SIZES):
            raise ValueError(f"packet size code {size_code} is not 0-3")
        return cls(status, system_id, library, level, address, PACKET_SIZES[size_code], baud_n * 9600)

    def encode(self) -> bytes:
        code = PACKET_SIZES.index(self.packet_size)
        return struct.pack(">HHHHIHH", self.status, self.system_id, self.library_size, self.security_level,
                           self.address, code, self.baud // 9600)  # fmt: skip


def pack_image(pixels: np.ndarray) -> bytes:
    """A 288 x 256 uint8 image as the sensor sends it: 4 bits per pixel, high nibble first."""
    if pixels.shape != (IMAGE_HEIGHT, IMAGE_WIDTH):
        raise ValueError(f"image must be {IMAGE_HEIGHT}x{IMAGE_WIDTH}, got {pixels.shape}")
    nibbles = (pixels.astype(np.uint8) >> 4).reshape(-1)
    return bytes((nibbles[0::2] << 4) | nibbles[1::2])


def unpack_image(data: bytes) -> np.ndarray:
    """The sensor's 4-bit image as a 288 x 256 uint8 array (each nibble scaled by 17 to 0-255)."""
    if len(data) != IMAGE_BYTES:
        raise ValueError(f"image must be {IMAGE_BYTES} bytes, got {len(data)}")
    raw = np.frombuffer(data, dtype=np.uint8)
    pixels = np.empty(raw.size * 2, dtype=np.uint8)
    pixels[0::2] = raw >> 4
    pixels[1::2] = raw & 0x0F
    return (pixels * 17).reshape(IMAGE_HEIGHT, IMAGE_WIDTH)
