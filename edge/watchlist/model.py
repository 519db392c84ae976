"""Watchlist entries, screening queries and results: the boundary types of the screening engine.

An entry belongs to one list: departure ban for citizens (pencegahan), entry ban for foreigners
(penangkalan), Interpol stolen/lost travel documents (SLTD) or an Interpol notice. Birth dates
may be partial ("1980", "1980-05", "1980-05-17") because alerts often carry only a year.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# pencegahan = departure ban (citizens), penangkalan = entry ban (foreigners)
ListName = Literal["pencegahan", "penangkalan", "interpol_sltd", "interpol_notice"]
LIST_NAMES: tuple[str, ...] = ("pencegahan", "penangkalan", "interpol_sltd", "interpol_notice")
# "identical" = cekal identik: the gate holds the traveler; "similar": an officer must review
Level = Literal["identical", "similar", "none"]
Sex = Literal["M", "F", "X"]

_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_NATIONALITY = re.compile(r"^[A-Z]{1,3}$")


def check_partial_date(value: str | None) -> str | None:
    """Accept "YYYY", "YYYY-MM" or "YYYY-MM-DD" (a real calendar date); empty means unknown."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not _PARTIAL_DATE.match(value):
        raise ValueError(f"birth date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    parts = [int(p) for p in value.split("-")]
    year, month, day = parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1
    try:
        date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"birth date {value!r} is not a calendar date") from exc
    return value


def check_nationality(value: str | None) -> str | None:
    """ICAO 9303 nationality code: up to three letters, MRZ filler '<' dropped (Germany is "D")."""
    if value is None:
        return None
    value = value.strip().upper().replace("<", "")
    if value == "":
        return None
    if not _NATIONALITY.match(value):
        raise ValueError(f"nationality {value!r} is not a 1-3 letter ICAO code")
    return value


def _empty_to_none(value: object) -> object:
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


class WatchlistEntry(BaseModel):
    """One alert on one list. At least a document number or a name is required."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    list: ListName
    document_numbers: tuple[str, ...] = ()
    surname: str = ""
    given_names: str = ""
    birth_date: str | None = None
    nationality: str | None = None
    sex: Sex | None = None
    agency: str = ""  # requesting agency (instansi pengusul)
    interested_party: str = ""  # the party named in the alert to receive the person
    reason: str = ""
    valid_from: date | None = None
    valid_until: date | None = None

    _birth = field_validator("birth_date")(classmethod(lambda cls, v: check_partial_date(v)))
    _nat = field_validator("nationality")(classmethod(lambda cls, v: check_nationality(v)))

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: object) -> object:
        value = _empty_to_none(value)
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("document_numbers", mode="before")
    @classmethod
    def _docs(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in re.split(r"[;|]", value)]
        if isinstance(value, (list, tuple)):
            return tuple(str(v).strip().upper() for v in value if str(v).strip())
        return value

    @model_validator(mode="after")
    def _identifiable(self) -> WatchlistEntry:
        if not self.document_numbers and not (self.surname.strip() or self.given_names.strip()):
            raise ValueError("an entry needs a document number or a name")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    def is_active(self, today: date) -> bool:
        """True when ``today`` is inside the validity period (both ends inclusive)."""
        if self.valid_from is not None and today < self.valid_from:
            return False
        return self.valid_until is None or today <= self.valid_until


class ScreeningQuery(BaseModel):
    """A traveler as read from the document (MRZ/chip): what the gate and the API screen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    document_number: str = ""
    surname: str = ""
    given_names: str = ""
    birth_date: str | None = None
    nationality: str | None = None
    sex: Sex | None = None

    _birth = field_validator("birth_date")(classmethod(lambda cls, v: check_partial_date(v)))
    _nat = field_validator("nationality")(classmethod(lambda cls, v: check_nationality(v)))

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: object) -> object:
        value = _empty_to_none(value)
        if isinstance(value, str):
            value = value.strip().upper()
            return None if value == "<" else value
        return value


class ScreeningCandidate(BaseModel):
    """One entry the query resembles, with a score in 0..1 and the reasons behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    list: ListName
    level: Level
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str]


class ScreeningResult(BaseModel):
    """The decision for one query: the highest candidate level, candidates best first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    level: Level
    candidates: list[ScreeningCandidate]
