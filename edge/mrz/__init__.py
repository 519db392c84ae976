"""MRZ engine: ICAO 9303 parsing, composing and document checks (pure), and the image reader.

Public surface::

    check_digit(field) -> str
    parse_mrz(text, *, today=None) -> Mrz
    compose_td1 / compose_td2 / compose_td3 / compose_mrva / compose_mrvb(...) -> lines
    DocumentPolicy, DocumentDecision, check_document(mrz, *, today, policy)
    MrzError, MrzFormatError

The reader (``edge.mrz.reader``) is imported separately: it needs OpenCV and onnxruntime.
"""

from edge.mrz.checkdigit import check_digit
from edge.mrz.checks import DocumentDecision, DocumentPolicy, check_document
from edge.mrz.compose import (
    compose_mrva,
    compose_mrvb,
    compose_td1,
    compose_td2,
    compose_td3,
)
from edge.mrz.errors import MrzError, MrzFormatError
from edge.mrz.model import Mrz
from edge.mrz.parse import parse_mrz

__all__ = [
    "DocumentDecision",
    "DocumentPolicy",
    "Mrz",
    "MrzError",
    "MrzFormatError",
    "check_digit",
    "check_document",
    "compose_mrva",
    "compose_mrvb",
    "compose_td1",
    "compose_td2",
    "compose_td3",
    "parse_mrz",
]
