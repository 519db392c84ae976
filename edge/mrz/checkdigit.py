"""ICAO 9303 check digits (Doc 9303 part 3, section 4.9): weights 7-3-1, modulus 10."""

from __future__ import annotations

MRZ_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
_WEIGHTS = (7, 3, 1)


def char_value(char: str) -> int:
    """Numeric value of one MRZ character: digits as such, A=10 .. Z=35, filler '<' = 0."""
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise ValueError(f"character {char!r} is not in the MRZ alphabet")


def check_digit(field: str) -> str:
    """The check digit ('0'..'9') of *field* as printed, fillers included."""
    total = sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field))
    return str(total % 10)


def check_digit_ok(field: str, printed: str) -> bool:
    """Whether *printed* is a correct check digit for *field*.

    Some issuers print '<' instead of '0' as the check digit of a field that is entirely fillers
    (an absent personal number, an empty document number on a visa); ICAO 9303 allows it for the
    TD3 personal number, and peers' users report it elsewhere. A '<' over a field that has any
    content is never accepted: that would let a misread through.
    """
    if printed == "<":
        return set(field) <= {"<"}
    return printed == check_digit(field)
