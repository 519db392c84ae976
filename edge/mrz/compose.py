"""Compose MRZ lines from document fields (sans-IO): the inverse of ``parse_mrz``.

Used to render synthetic training and test documents, by simulators, and by tests
(``parse_mrz(compose_td3(...))`` gives the fields back). Names are transliterated to the MRZ
alphabet as Doc 9303 part 3 section 6 recommends and truncated to the field's width.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from edge.mrz.checkdigit import MRZ_ALPHABET, check_digit
from edge.mrz.errors import MrzFormatError

# Doc 9303 part 3, table of recommended transliterations for Latin characters that do not simply
# lose their diacritic; everything else falls back to its unaccented base letter.
_TRANSLITERATION = {
    "Ä": "AE", "Å": "AA", "Æ": "AE", "Ö": "OE", "Ø": "OE", "Œ": "OE", "Ü": "UE", "ß": "SS",
    "Þ": "TH", "Ð": "D", "Đ": "D", "Ħ": "H", "Ĳ": "IJ", "Ł": "L", "Ŀ": "L", "Ŋ": "N", "Ŧ": "T",
    "ı": "I", "ĸ": "K",
}
_ALLOWED = frozenset(MRZ_ALPHABET)


def transliterate_name(name: str) -> str:
    """A name component in MRZ letters: apostrophes dropped, other separators become one '<'."""
    out: list[str] = []
    for char in name.strip():
        upper = char.upper() if char != "ß" else char
        if upper in _TRANSLITERATION:
            out.append(_TRANSLITERATION[upper])
            continue
        base = unicodedata.normalize("NFKD", upper)
        base = "".join(c for c in base if not unicodedata.combining(c)).upper()
        if base in ("'", "’", "`", "ʼ"):
            continue
        for c in base:
            out.append(c if "A" <= c <= "Z" else "<")
    # A run of fillers inside one component would read as the surname/given-name separator.
    words = [w for w in "".join(out).split("<") if w]
    return "<".join(words)


def name_field(surname: str, given_names: str, width: int) -> str:
    """Primary and secondary identifiers joined by '<<', truncated to *width* and filled."""
    primary, secondary = transliterate_name(surname), transliterate_name(given_names)
    text = f"{primary}<<{secondary}" if secondary else primary
    return _fill(text[:width], width)


def _fill(text: str, width: int) -> str:
    return text + "<" * (width - len(text))


def _field(value: str, width: int, what: str) -> str:
    text = value.strip().upper().replace(" ", "<")
    if len(text) > width:
        raise MrzFormatError(f"{what} is {len(text)} characters, at most {width} fit")
    bad = set(text) - _ALLOWED
    if bad:
        raise MrzFormatError(f"{what} contains characters outside the MRZ alphabet: {sorted(bad)}")
    return _fill(text, width)


def _yymmdd(value: date | None) -> str:
    return "<<<<<<" if value is None else value.strftime("%y%m%d")


def _sex(value: str) -> str:
    if value in ("M", "F"):
        return value
    if value in ("X", "<", ""):
        return "<"
    raise MrzFormatError(f"sex must be 'M', 'F' or 'X', got {value!r}")


def _number_with_check(number: str, width: int) -> str:
    field = _field(number, width, "document number")
    return field + check_digit(field)


def _long_number(number: str, optional_data: str, optional_width: int) -> tuple[str, str]:
    """(9 characters + '<', optional field) for a document number longer than nine characters."""
    number = number.strip().upper()
    _field(number, len(number), "document number")
    overflow = number[9:] + check_digit(number) + "<" + optional_data.strip().upper()
    return number[:9] + "<", _field(overflow.rstrip("<"), optional_width, "document number overflow and optional data")


def compose_td3(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    issuing_state: str | None = None,
    document_code: str = "P",
    optional_data: str = "",
) -> tuple[str, str]:
    """The two 44-character lines of a passport (TD3)."""
    line1 = _field(document_code, 2, "document code") + _field(issuing_state or nationality, 3, "issuing state")
    line1 += name_field(surname, given_names, 39)
    optional = _field(optional_data, 14, "optional data")
    optional_check = "<" if optional == "<" * 14 else check_digit(optional)
    line2 = _line2_core(document_number, nationality, birth_date, sex, expiry_date) + optional + optional_check
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    return line1, line2


def compose_mrva(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    issuing_state: str | None = None,
    document_code: str = "V",
    optional_data: str = "",
) -> tuple[str, str]:
    """The two 44-character lines of a full-size visa (MRV-A); no composite check digit."""
    return _visa(
        surname, given_names, document_number, nationality, birth_date, sex, expiry_date,
        issuing_state, document_code, optional_data, name_width=39, optional_width=16,
    )


def compose_mrvb(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    issuing_state: str | None = None,
    document_code: str = "V",
    optional_data: str = "",
) -> tuple[str, str]:
    """The two 36-character lines of a small visa (MRV-B); no composite check digit."""
    return _visa(
        surname, given_names, document_number, nationality, birth_date, sex, expiry_date,
        issuing_state, document_code, optional_data, name_width=31, optional_width=8,
    )


def _visa(
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    issuing_state: str | None,
    document_code: str,
    optional_data: str,
    *,
    name_width: int,
    optional_width: int,
) -> tuple[str, str]:
    """MRV-A and MRV-B share one layout; only the name and optional-data widths differ."""
    line1 = _field(document_code, 2, "document code") + _field(issuing_state or nationality, 3, "issuing state")
    line1 += name_field(surname, given_names, name_width)
    line2 = _line2_core(document_number, nationality, birth_date, sex, expiry_date)
    return line1, line2 + _field(optional_data, optional_width, "optional data")


def compose_td2(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    issuing_state: str | None = None,
    document_code: str = "I",
    optional_data: str = "",
) -> tuple[str, str]:
    """The two 36-character lines of a TD2 card; numbers over nine characters overflow."""
    line1 = _field(document_code, 2, "document code") + _field(issuing_state or nationality, 3, "issuing state")
    line1 += name_field(surname, given_names, 31)
    if len(document_number.strip()) > 9:
        head, optional = _long_number(document_number, optional_data, 7)
    else:
        head, optional = _number_with_check(document_number, 9), _field(optional_data, 7, "optional data")
    line2 = head + _line2_tail(nationality, birth_date, sex, expiry_date) + optional
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:35])
    return line1, line2


def compose_td1(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    nationality: str,
    birth_date: date | None,
    sex: str,
    expiry_date: date | None,
    issuing_state: str | None = None,
    document_code: str = "I",
    optional_data: str = "",
    optional_data_2: str = "",
) -> tuple[str, str, str]:
    """The three 30-character lines of an identity card (TD1); numbers over nine characters overflow."""
    line1 = _field(document_code, 2, "document code") + _field(issuing_state or nationality, 3, "issuing state")
    if len(document_number.strip()) > 9:
        head, optional = _long_number(document_number, optional_data, 15)
    else:
        head, optional = _number_with_check(document_number, 9), _field(optional_data, 15, "optional data")
    line1 += head + optional
    birth, expiry = _yymmdd(birth_date), _yymmdd(expiry_date)
    line2 = birth + check_digit(birth) + _sex(sex) + expiry + check_digit(expiry)
    line2 += _field(nationality, 3, "nationality") + _field(optional_data_2, 11, "optional data 2")
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return line1, line2, name_field(surname, given_names, 30)


def _line2_core(number: str, nationality: str, birth: date | None, sex: str, expiry: date | None) -> str:
    """Columns 0-27 shared by TD3, TD2, MRV-A and MRV-B: number, nationality, birth, sex, expiry."""
    return _number_with_check(number, 9) + _line2_tail(nationality, birth, sex, expiry)


def _line2_tail(nationality: str, birth: date | None, sex: str, expiry: date | None) -> str:
    birth_s, expiry_s = _yymmdd(birth), _yymmdd(expiry)
    return (
        _field(nationality, 3, "nationality")
        + birth_s + check_digit(birth_s) + _sex(sex) + expiry_s + check_digit(expiry_s)
    )
