"""Bounds every request value must respect before it reaches the database: the types views and
pydantic boundary models use for ids, offsets and days, so that no value of the right shape but
an absurd size (``offset=10**20``, ``0001-01-01``) turns into an overflow deep inside a query."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

# Ids and counters are INTEGER columns: PostgreSQL's int4 (SQLite takes 64 bits, PostgreSQL not).
DB_INT_MAX = 2**31 - 1
# What SQLite and psycopg can bind at all: anything bigger is refused before a query sees it.
DB_BIGINT_MAX = 2**63 - 1

# Days an officer may ask about: wide enough for any birth date or report, narrow enough that
# turning a day into a UTC/WIB instant (+-1 day) can never leave Python's date range.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


def check_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"a day between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    return value


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` within the bounds; ValueError with a reason otherwise."""
    try:
        return check_day(date.fromisoformat(text.strip()))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{text[:40]!r}: not a day YYYY-MM-DD ({exc})") from exc


Day = Annotated[date, AfterValidator(check_day)]
Offset = Annotated[int, Field(ge=0, le=DB_INT_MAX)]
DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
