"""Errors of the passport reader driver.

::

    HardwareError
    └── SerialDeviceError (OSError)
        └── PassportReaderError               the reader or its line failed
            ├── RecordCorrupt (ValueError)    a malformed record, wrong MRZ shape or image CRC
            └── ReaderTimeout (TimeoutError)  no document or reply in time
"""

from __future__ import annotations

from edge.hardware.errors import PassportReaderError

__all__ = ["PassportReaderError", "ReaderTimeout", "RecordCorrupt"]


class RecordCorrupt(PassportReaderError, ValueError):
    """The reader sent a record that does not parse, has a wrong MRZ shape or a bad image CRC."""


class ReaderTimeout(PassportReaderError, TimeoutError):
    """No document (or no reply to a command) arrived in time."""
