"""The door board (firmware/) over serial: codec, driver, errors and an in-memory fake port."""

from edge.hardware.doorboard.device import DoorBoardGateHardware

__all__ = ["DoorBoardGateHardware"]
