"""Parse and verify an ICAO 9303 machine readable zone given as text (sans-IO).

Layouts (Doc 9303 parts 4-7), 0-based columns:

    TD3 / MRV-A  2 x 44   line 2: number 0-8 (+9), nationality 10-12, birth 13-18 (+19), sex 20,
                          expiry 21-26 (+27), optional 28-41 (+42, TD3) or 28-43 (MRV-A), composite 43
    TD2 / MRV-B  2 x 36   as above; optional 28-34, composite 35 (TD2) or optional 28-35 (MRV-B)
    TD1          3 x 30   line 1: code, state, number 5-13 (+14), optional 15-29;
                          line 2: birth 0-5 (+6), sex 7, expiry 8-13 (+14), nationality 15-17,
                          optional 18-28, composite 29; line 3: name

A document number longer than nine characters (TD1, TD2) leaves a '<' in the check digit position
and continues in the optional data, followed by its check digit and a filler.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from edge.mrz.checkdigit import MRZ_ALPHABET, check_digit_ok
from edge.mrz.errors import MrzFormatError
from edge.mrz.model import Mrz, MrzFormat, Sex

log = logging.getLogger(__name__)

_ALLOWED = frozenset(MRZ_ALPHABET)
_SHAPES = {(3, 30): "TD1", (2, 44): "TD3", (2, 36): "TD2"}
_EXPIRY_WINDOW_YEARS = 50


def parse_mrz(text: str | Sequence[str], *, today: date | None = None) -> Mrz:
    """Parse the MRZ lines in *text*; raise :class:`MrzFormatError` if it is not an MRZ.

    A structurally valid MRZ whose check digits fail comes back with ``valid=False``. *today* is
    used only to infer the century of two-digit years (defaults to the local date).
    """
    lines = _normalise(text)
    fmt = _detect_format(lines)
    ref = today or date.today()
    parser = _td1 if fmt == "TD1" else _two_line
    mrz = parser(lines, fmt, ref)
    if not mrz.valid:
        log.debug("MRZ %s parsed with failed checks %s", fmt, ",".join(mrz.failed_checks))
    return mrz


def _normalise(text: str | Sequence[str]) -> list[str]:
    if isinstance(text, str):
        raw = text.splitlines()
    elif isinstance(text, Sequence) and all(isinstance(line, str) for line in text):
        raw = list(text)
    else:
        raise MrzFormatError(f"not an MRZ: expected text or a sequence of lines, got {type(text).__name__}")
    lines = [line.strip().upper() for line in raw if line.strip()]
    if len(lines) == 1 and len(lines[0]) in (90, 88, 72):
        # One unbroken string, as some scanners emit it.
        width = {90: 30, 88: 44, 72: 36}[len(lines[0])]
        lines = [lines[0][i : i + width] for i in range(0, len(lines[0]), width)]
    if not lines:
        raise MrzFormatError("not an MRZ: the text is empty")
    return lines


def _check_alphabet(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        for column, char in enumerate(line):
            if char not in _ALLOWED:
                raise MrzFormatError(
                    f"not an MRZ: line {number}, position {column + 1}: character {char!r} is not "
                    "in the MRZ alphabet A-Z 0-9 <"
                )


def _detect_format(lines: list[str]) -> MrzFormat:
    lengths = {len(line) for line in lines}
    shape = _SHAPES.get((len(lines), lengths.pop())) if len(lengths) == 1 else None
    if shape is None:
        got = ", ".join(str(len(line)) for line in lines)
        raise MrzFormatError(
            "not an MRZ: expected 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 "
            f"(TD3, MRV-A); got {len(lines)} line(s) of {got}"
        )
    _check_alphabet(lines)
    if not ("A" <= lines[0][0] <= "Z"):
        raise MrzFormatError("not an MRZ: the document code must start with a letter")
    if lines[0][0] == "V" and shape in ("TD3", "TD2"):
        return "MRVA" if shape == "TD3" else "MRVB"
    return shape  # type: ignore[return-value]


def _strip(field: str) -> str:
    return field.rstrip("<")


def _names(field: str) -> tuple[str, str]:
    """(surname, given names); either may be empty for single-name holders."""
    body = field.rstrip("<")
    surname, _, given = body.partition("<<")
    return _words(surname), _words(given)


def _words(part: str) -> str:
    return " ".join(word for word in part.split("<") if word)


def _sex(char: str, failed: list[str]) -> Sex:
    if char in ("M", "F"):
        return char  # type: ignore[return-value]
    if char not in ("<", "X"):
        failed.append("sex")
    return "X"


def _ymd(field: str) -> tuple[int, int, int] | None:
    if not field.isdigit():
        return None
    return int(field[0:2]), int(field[2:4]), int(field[4:6])


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def birth_date(field: str, today: date) -> date | None:
    """The latest century that does not put the birth date in the future."""
    ymd = _ymd(field)
    if ymd is None:
        return None
    yy, month, day = ymd
    year = today.year // 100 * 100 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return _make_date(year, month, day)


def expiry_date(field: str, today: date) -> date | None:
    """The century that puts the expiry within 50 years either side of today."""
    ymd = _ymd(field)
    if ymd is None:
        return None
    yy, month, day = ymd
    base = today.year // 100 * 100 + yy
    low, high = today.year - _EXPIRY_WINDOW_YEARS, today.year + _EXPIRY_WINDOW_YEARS
    year = next(y for y in (base - 100, base, base + 100) if low < y <= high)
    return _make_date(year, month, day)


def _long_number(head: str, optional: str) -> tuple[str, str, bool]:
    """Document number, remaining optional data and check result for an overflowing number."""
    run = optional.split("<", 1)[0]
    if not run:
        return _strip(head), _strip(optional), False
    number = head + run[:-1]
    rest = optional[len(run) + 1 :]
    return number, _strip(rest), check_digit_ok(number, run[-1])


def _td1(lines: list[str], fmt: MrzFormat, today: date) -> Mrz:
    l1, l2, l3 = lines
    failed: list[str] = []
    head, optional = l1[5:14], l1[15:30]
    if l1[14] == "<" and not set(head) <= {"<"}:
        number, optional_data, ok = _long_number(head, optional)
    else:
        number, optional_data, ok = _strip(head), _strip(optional), check_digit_ok(head, l1[14])
    if not ok:
        failed.append("document_number")
    if not check_digit_ok(l2[0:6], l2[6]):
        failed.append("birth_date")
    if not check_digit_ok(l2[8:14], l2[14]):
        failed.append("expiry_date")
    sex = _sex(l2[7], failed)
    if not check_digit_ok(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29]):
        failed.append("composite")
    surname, given = _names(l3)
    return Mrz(
        format=fmt,
        document_code=_strip(l1[0:2]),
        issuing_state=_strip(l1[2:5]),
        document_number=number,
        surname=surname,
        given_names=given,
        nationality=_strip(l2[15:18]),
        birth_date=birth_date(l2[0:6], today),
        sex=sex,
        expiry_date=expiry_date(l2[8:14], today),
        optional_data=optional_data,
        optional_data_2=_strip(l2[18:29]),
        lines=tuple(lines),
        valid=not failed,
        failed_checks=_ordered(failed),
    )


def _two_line(lines: list[str], fmt: MrzFormat, today: date) -> Mrz:
    l1, l2 = lines
    width = len(l2)
    failed: list[str] = []
    head = l2[0:9]
    optional_end = {"TD3": 42, "TD2": 35}.get(fmt, width)
    optional = l2[28:optional_end]
    if fmt == "TD2" and l2[9] == "<" and not set(head) <= {"<"}:
        number, optional_data, ok = _long_number(head, optional)
    else:
        number, optional_data, ok = _strip(head), _strip(optional), check_digit_ok(head, l2[9])
    if not ok:
        failed.append("document_number")
    if not check_digit_ok(l2[13:19], l2[19]):
        failed.append("birth_date")
    if not check_digit_ok(l2[21:27], l2[27]):
        failed.append("expiry_date")
    sex = _sex(l2[20], failed)
    if fmt == "TD3" and not check_digit_ok(l2[28:42], l2[42]):
        failed.append("optional_data")
    if fmt in ("TD3", "TD2"):
        end = width - 1
        if not check_digit_ok(l2[0:10] + l2[13:20] + l2[21:end], l2[end]):
            failed.append("composite")
    surname, given = _names(l1[5:])
    return Mrz(
        format=fmt,
        document_code=_strip(l1[0:2]),
        issuing_state=_strip(l1[2:5]),
        document_number=number,
        surname=surname,
        given_names=given,
        nationality=_strip(l2[10:13]),
        birth_date=birth_date(l2[13:19], today),
        sex=sex,
        expiry_date=expiry_date(l2[21:27], today),
        optional_data=optional_data,
        lines=tuple(lines),
        valid=not failed,
        failed_checks=_ordered(failed),
    )


_CHECK_ORDER = ("document_number", "birth_date", "expiry_date", "optional_data", "sex", "composite")


def _ordered(failed: list[str]) -> tuple[str, ...]:
    return tuple(name for name in _CHECK_ORDER if name in failed)


