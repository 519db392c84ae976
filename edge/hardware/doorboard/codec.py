"""The door board framing, for the edge: the firmware's own codec plus typed translations.

The frame format lives in exactly one file, firmware/protocol.py, which runs on the board; this
module re-exports it (a test checks they are the same objects) and maps its byte codes to the
edge's types.
"""

from __future__ import annotations

from typing import NamedTuple

from edge.hardware.base import DoorAction, DoorName, DoorPosition, HardwareEventKind, Indicator
from firmware import protocol as wire
from firmware.protocol import Decoder, crc16, encode

__all__ = ["ACTION_COMMANDS", "BoardStatus", "Decoder", "crc16", "encode", "wire"]

DOOR_CODES: dict[DoorName, int] = {"entry": wire.DOOR_ENTRY, "exit": wire.DOOR_EXIT}
CODE_DOORS: dict[int, DoorName] = {code: name for name, code in DOOR_CODES.items()}

ACTION_COMMANDS: dict[DoorAction, int] = {
    DoorAction.OPEN: wire.OPEN,
    DoorAction.CLOSE: wire.CLOSE,
    DoorAction.LOCK: wire.LOCK,
    DoorAction.UNLOCK: wire.UNLOCK,
}

INDICATOR_CODES: dict[Indicator, int] = {
    Indicator.IDLE: wire.IND_IDLE,
    Indicator.PROCEED: wire.IND_PROCEED,
    Indicator.WAIT: wire.IND_WAIT,
    Indicator.STOP: wire.IND_STOP,
    Indicator.ALARM: wire.IND_ALARM,
}

# board events that map one-to-one onto a hardware event about a door
DOOR_EVENTS: dict[int, HardwareEventKind] = {
    wire.EV_DOOR_OPENED: HardwareEventKind.DOOR_OPENED,
    wire.EV_DOOR_CLOSED: HardwareEventKind.DOOR_CLOSED,
    wire.EV_DOOR_LOCKED: HardwareEventKind.DOOR_LOCKED,
    wire.EV_DOOR_UNLOCKED: HardwareEventKind.DOOR_UNLOCKED,
    wire.EV_DOOR_OBSTRUCTED: HardwareEventKind.DOOR_OBSTRUCTED,
}

POSITIONS: dict[int, DoorPosition] = {
    wire.POS_UNKNOWN: DoorPosition.UNKNOWN,
    wire.POS_OPEN: DoorPosition.OPEN,
    wire.POS_CLOSED: DoorPosition.CLOSED,
    wire.POS_LOCKED: DoorPosition.LOCKED,
    wire.POS_MOVING: DoorPosition.MOVING,
}


class BoardStatus(NamedTuple):
    entry: DoorPosition
    exit: DoorPosition
    emergency: bool
    edge_lost: bool
    fault: bool


def parse_status(payload: bytes) -> BoardStatus:
    """The 3-byte status carried by ACKs to PING, STATUS and door commands."""
    if len(payload) != 3:
        raise ValueError(f"status payload must be 3 bytes, got {len(payload)}")
    flags = payload[2]
    return BoardStatus(
        POSITIONS.get(payload[0], DoorPosition.UNKNOWN),
        POSITIONS.get(payload[1], DoorPosition.UNKNOWN),
        bool(flags & wire.FLAG_EMERGENCY),
        bool(flags & wire.FLAG_EDGE_LOST),
        bool(flags & wire.FLAG_FAULT),
    )


def nak_reason(payload: bytes) -> str:
    code = payload[0] if payload else 0
    return wire.NAK_REASONS.get(code, f"reason {code}")


def command_name(cmd: int) -> str:
    return wire.COMMAND_NAMES.get(cmd, f"0x{cmd:02x}")
