"""Document checks the gate makes once the MRZ is read (SOP tpi-08: "checks the validity and
expiry of the travel document"), as a pure function of the MRZ, today's date and a policy.

The autogate serves Indonesian citizens (WNI) holding a DPRI (Indonesian passport), so the
default policy accepts passports ("P") of nationality IDN only; anything else is "not matching"
at step 3 and the traveller goes to the counter.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from edge.mrz.model import Mrz

# Reason codes, in the order they are reported; the console maps each code to its text.
REASONS = (
    "check_digit_failed",
    "expired",
    "not_yet_valid",
    "validity_too_short",
    "document_type_not_allowed",
    "nationality_not_allowed",
    "issuing_state_mismatch",
)


class DocumentPolicy(BaseModel):
    """Which documents this gate accepts. An empty tuple means "any"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_document_codes: tuple[str, ...] = Field(
        ("P",), description="MRZ document codes accepted, exact match (P = ordinary passport, DPRI)"
    )
    allowed_nationalities: tuple[str, ...] = Field(
        ("IDN",), description="Nationalities accepted (WNI only by default, SOP tpi-08)"
    )
    min_validity_days: int = Field(
        183, ge=0, le=3660, description="Days of validity the document must have left (six months)"
    )
    max_validity_years: int = Field(
        10,
        ge=1,
        le=100,
        description="Longest validity the issuer grants; an expiry further out means the document "
        "cannot have been issued yet (the MRZ carries no issue date)",
    )
    require_issuing_state_match: bool = Field(
        True, description="Refuse documents whose issuing state differs from the holder's nationality"
    )


class DocumentDecision(BaseModel):
    """Whether the document may be used at this gate, and every reason it may not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accepted: bool
    reasons: tuple[str, ...] = ()


def check_document(mrz: Mrz, *, today: date, policy: DocumentPolicy) -> DocumentDecision:
    """Apply *policy* to *mrz* on *today*.

    An expiry date that is not a calendar date is treated as "expired": the gate cannot prove the
    document valid. "not_yet_valid" covers a birth date in the future and an expiry further away
    than the issuer's longest validity, which the MRZ alone can show.
    """
    reasons: set[str] = set()
    if not mrz.valid:
        reasons.add("check_digit_failed")
    expiry = mrz.expiry_date
    if expiry is None or expiry < today:
        reasons.add("expired")
    elif (expiry - today) < timedelta(days=policy.min_validity_days):
        reasons.add("validity_too_short")
    if expiry is not None and expiry > _add_years(today, policy.max_validity_years):
        reasons.add("not_yet_valid")
    if mrz.birth_date is not None and mrz.birth_date > today:
        reasons.add("not_yet_valid")
    if policy.allowed_document_codes and mrz.document_code not in policy.allowed_document_codes:
        reasons.add("document_type_not_allowed")
    if policy.allowed_nationalities and mrz.nationality not in policy.allowed_nationalities:
        reasons.add("nationality_not_allowed")
    if policy.require_issuing_state_match and mrz.issuing_state != mrz.nationality:
        reasons.add("issuing_state_mismatch")
    ordered = tuple(r for r in REASONS if r in reasons)
    return DocumentDecision(accepted=not ordered, reasons=ordered)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a non-leap year
        return day.replace(year=day.year + years, day=28)
