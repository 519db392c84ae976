"""Supporting and contradicting evidence besides the name: birth date, nationality, sex.

Each comparison returns a ``Feature``: a score adjustment and a reason an officer can read.
Birth dates may be partial on either side; only what both sides state is compared.
"""

from __future__ import annotations

from typing import NamedTuple

# Score adjustments added to 0.70 x name score (see docs/watchlist.md, "Score").
# A shared birth year is weak (1 in ~60); a full shared date is strong (1 in ~20,000), and so is
# one with day and month swapped (the weight fitted by bench/watchlist/screening_eval.py).
DOB_EXACT, DOB_YEAR_MONTH, DOB_YEAR, DOB_SWAPPED = 0.25, 0.12, 0.08, 0.25
DOB_YEAR_TYPO, DOB_YEAR_OFF_BY_ONE, DOB_DAY_DISJOINT, DOB_DISJOINT = 0.05, -0.10, -0.10, -0.30
NAT_AGREE, NAT_CONTRADICT = 0.05, -0.10
SEX_CONTRADICT = -0.15


class Feature(NamedTuple):
    """``kind`` is a stable tag (e.g. "dob_exact") used by the level rules; ``reason`` is for people."""

    kind: str
    adjust: float
    reason: str


UNKNOWN = Feature("unknown", 0.0, "")


def compare_birth_dates(query: str | None, entry: str | None) -> Feature:
    """Exact, partial (year or year-month on one side) or disjoint birth dates."""
    if not query or not entry:
        return Feature("dob_unknown", 0.0, "birth date not on both sides")
    q, e = query.split("-"), entry.split("-")
    qy, ey = int(q[0]), int(e[0])
    if qy != ey:
        if abs(qy - ey) == 1:
            if len(q) == 3 and len(e) == 3 and q[1:] == e[1:]:
                # Same day and month, year one off: the classic keying error.
                return Feature("dob_year_typo", DOB_YEAR_TYPO, f"birth year differs by one, day and month agree ({qy} vs {ey})")
            return Feature("dob_year_off_by_one", DOB_YEAR_OFF_BY_ONE, f"birth year differs by one ({qy} vs {ey})")
        return Feature("dob_disjoint", DOB_DISJOINT, f"birth year disjoint ({qy} vs {ey})")
    if len(q) == 3 and len(e) == 3:
        if q == e:
            return Feature("dob_exact", DOB_EXACT, "birth date identical")
        if q[1] == e[2] and q[2] == e[1]:
            return Feature("dob_swapped", DOB_SWAPPED, "birth date day and month swapped")
        if q[1] == e[1]:
            return Feature("dob_day_disjoint", DOB_DAY_DISJOINT, "birth year and month agree, day differs")
        return Feature("dob_day_disjoint", DOB_DAY_DISJOINT, "birth year agrees, month and day differ")
    if len(q) >= 2 and len(e) >= 2:
        if q[1] == e[1]:
            return Feature("dob_year_month", DOB_YEAR_MONTH, "birth date year and month only, agree")
        return Feature("dob_day_disjoint", DOB_DAY_DISJOINT, "birth year agrees, month differs")
    return Feature("dob_year", DOB_YEAR, "birth date year only, agrees")


def compare_nationality(query: str | None, entry: str | None) -> Feature:
    if not query or not entry:
        return UNKNOWN
    if query == entry:
        return Feature("nat_agree", NAT_AGREE, f"nationality agrees ({entry})")
    return Feature("nat_contradict", NAT_CONTRADICT, f"nationality differs ({query} vs {entry})")


def compare_sex(query: str | None, entry: str | None) -> Feature:
    # "X" (unspecified) neither supports nor contradicts.
    if not query or not entry or "X" in (query, entry):
        return UNKNOWN
    if query == entry:
        return Feature("sex_agree", 0.0, "sex agrees")
    return Feature("sex_contradict", SEX_CONTRADICT, f"sex differs ({query} vs {entry})")
