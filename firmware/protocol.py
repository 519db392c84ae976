"""Door board serial framing: the one canonical codec, shared by the firmware and the edge.

Pure code that runs unchanged on MicroPython and CPython (no typing, dataclasses or enum), so the
board and the edge cannot drift apart: edge/hardware/doorboard/codec.py imports this file.

Frame layout (all integers unsigned, CRC big-endian)::

    STX  LEN  SEQ  CMD  PAYLOAD...  CRC_HI CRC_LO
    0x02 n    s    c    n-2 bytes   CRC-16/CCITT-FALSE over LEN, SEQ, CMD, PAYLOAD

``LEN`` counts SEQ + CMD + PAYLOAD (2..MAX_LEN). Every command from the edge is answered by an ACK
or NAK carrying the command's SEQ; every EVENT from the board is acknowledged by the edge with an
ACK carrying the event's SEQ, and the board repeats an unacknowledged event until it is.
"""

STX = 0x02
MAX_LEN = 250

# edge -> board
PING = 0x01  # heartbeat; ACK payload = status
OPEN = 0x10  # payload: door
CLOSE = 0x11  # payload: door
LOCK = 0x12  # payload: door
UNLOCK = 0x13  # payload: door
RELEASE_ALL = 0x14
INDICATE = 0x15  # payload: indicator
STATUS = 0x16  # ACK payload = status
# both ways
ACK = 0x06  # payload: optional data
NAK = 0x1F  # payload: reason (NAK_*)
# board -> edge
EVENT = 0x20  # payload: event code, door, detail bytes

COMMAND_NAMES = {
    PING: "ping", OPEN: "open", CLOSE: "close", LOCK: "lock", UNLOCK: "unlock",
    RELEASE_ALL: "release_all", INDICATE: "indicate", STATUS: "status", ACK: "ack", NAK: "nak",
    EVENT: "event",
}  # fmt: skip

DOOR_ENTRY = 0
DOOR_EXIT = 1
NO_DOOR = 0xFF

# NAK reasons (payload byte 0)
NAK_CRC = 1
NAK_UNKNOWN_COMMAND = 2
NAK_BAD_PAYLOAD = 3
NAK_INTERLOCK = 4
NAK_EMERGENCY = 5
NAK_FAULT = 6

NAK_REASONS = {
    NAK_CRC: "CRC mismatch",
    NAK_UNKNOWN_COMMAND: "unknown command",
    NAK_BAD_PAYLOAD: "bad payload",
    NAK_INTERLOCK: "interlock refused",
    NAK_EMERGENCY: "emergency active",
    NAK_FAULT: "door faulted",
}

# indicators (INDICATE payload), in the order of edge.hardware.base.Indicator
IND_IDLE = 0
IND_PROCEED = 1
IND_WAIT = 2
IND_STOP = 3
IND_ALARM = 4

# EVENT codes (payload byte 0)
EV_DOOR_OPENED = 1
EV_DOOR_CLOSED = 2
EV_DOOR_LOCKED = 3
EV_DOOR_UNLOCKED = 4
EV_DOOR_OBSTRUCTED = 5
EV_DOOR_FAULT = 6  # detail: text
EV_BEAM = 7  # door byte = beam index (0 entry doorway, 1..n zone, n+1 exit doorway); detail: 1 blocked / 0 clear
EV_EMERGENCY = 8
EV_EMERGENCY_CLEARED = 9
EV_EDGE_LOST = 10  # watchdog fired: doors made safe
EV_EDGE_BACK = 11
EV_FAULT_CLEARED = 12  # door byte names the door that recovered
EV_BOOT = 13  # board (re)started; detail: firmware version

# STATUS / PING reply payload: entry position, exit position, flags
POS_UNKNOWN = 0
POS_OPEN = 1
POS_CLOSED = 2
POS_LOCKED = 3
POS_MOVING = 4
POS_NAMES = ("unknown", "open", "closed", "locked", "moving")
FLAG_EMERGENCY = 1
FLAG_EDGE_LOST = 2
FLAG_FAULT = 4


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection); crc16(b"123456789") == 0x29B1."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def encode(seq, cmd, payload=b""):
    """One frame as bytes. Raises ValueError for an out-of-range field or an oversized payload."""
    if not 0 <= seq <= 255 or not 0 <= cmd <= 255:
        raise ValueError("seq and cmd must be bytes")
    length = len(payload) + 2
    if length > MAX_LEN:
        raise ValueError("payload too long: %d bytes" % len(payload))
    body = bytes((length, seq, cmd)) + bytes(payload)
    crc = crc16(body)
    return bytes((STX,)) + body + bytes((crc >> 8, crc & 0xFF))


class Decoder:
    """Reassembles frames from a byte stream, resynchronising on the next STX after garbage.

    ``feed(data)`` returns a list of ``(seq, cmd, payload)``; a frame whose CRC fails comes back
    as ``(seq, None, b"")`` so the receiver can NAK it (the seq may itself be corrupt).
    Counters: ``frames``, ``crc_errors``, ``skipped`` (bytes thrown away while hunting for STX).
    """

    def __init__(self):
        self._buf = bytearray()
        self.frames = 0
        self.crc_errors = 0
        self.skipped = 0

    def feed(self, data):
        # index arithmetic and re-slicing only: MicroPython's bytearray lacks find() and may lack
        # slice assignment
        buf = self._buf + bytes(data)
        out = []
        pos = 0
        end = len(buf)
        while pos < end:
            if buf[pos] != STX:
                pos += 1
                self.skipped += 1
                continue
            if end - pos < 2:
                break
            length = buf[pos + 1]
            if length < 2 or length > MAX_LEN:
                pos += 1
                self.skipped += 1
                continue
            total = length + 4
            if end - pos < total:
                break
            body = bytes(buf[pos + 1 : pos + 2 + length])
            got = (buf[pos + 2 + length] << 8) | buf[pos + 3 + length]
            if crc16(body) != got:
                self.crc_errors += 1
                out.append((body[1], None, b""))
                pos += 1  # the STX may have been noise: rescan from the next byte
                continue
            self.frames += 1
            out.append((body[1], body[2], body[3:]))
            pos += total
        self._buf = bytearray(buf[pos:])
        return out
