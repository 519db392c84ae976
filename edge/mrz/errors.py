"""Errors raised by the MRZ engine.

    MrzError                         base of everything below
    └── MrzFormatError (ValueError)  the text is not an MRZ (wrong line count, length or alphabet)

A structurally valid MRZ whose check digits fail is *not* an error: ``parse_mrz`` returns it with
``valid=False`` and the failing checks listed, so a gate can tell "unreadable" from "invalid".
Nor is an image without a readable MRZ: the reader returns a reading with ``lines=None``.
"""

from __future__ import annotations


class MrzError(Exception):
    """Base of MRZ engine errors."""


class MrzFormatError(MrzError, ValueError):
    """The text is not a machine readable zone of any ICAO 9303 format."""
