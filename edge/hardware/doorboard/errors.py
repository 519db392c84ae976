"""Errors of the door board driver.

::

    HardwareError                       (edge/hardware/errors.py)
    ├── InterlockViolation              the board NAKed a command as unsafe (interlock, emergency)
    └── SerialDeviceError (OSError)
        └── DoorBoardError              the board or its serial line failed
            ├── DoorBoardTimeout (TimeoutError)   no ACK/NAK after every retry
            ├── DoorBoardRefused (ValueError)     NAK for a malformed or unknown command
            └── DoorBoardClosed                   the driver was closed
"""

from __future__ import annotations

from edge.hardware.errors import DoorBoardError, InterlockViolation

__all__ = ["DoorBoardClosed", "DoorBoardError", "DoorBoardRefused", "DoorBoardTimeout", "InterlockViolation"]


class DoorBoardTimeout(DoorBoardError, TimeoutError):
    """The door board did not answer a command, even after retransmissions."""


class DoorBoardRefused(DoorBoardError, ValueError):
    """The door board NAKed a command it could not parse or does not know."""


class DoorBoardClosed(DoorBoardError):
    """The driver was closed; no more commands can be sent."""
