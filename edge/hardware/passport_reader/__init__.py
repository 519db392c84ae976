"""A serial passport reader: MRZ lines and the page image, over a simple line protocol."""

from edge.hardware.passport_reader.codec import DocumentRead
from edge.hardware.passport_reader.device import PassportReader

__all__ = ["DocumentRead", "PassportReader"]
