"""What the form that opens a case asks, per workflow, and the case context it makes.

The groups shown depend on the SOP: an applicant for the applicant-facing services (with the
identity a passport's enrolment needs), the traveller's nine document fields for the checkpoint,
a detainee for the enforcement SOPs, the overstay dates for tpi-07. Pure except for the tariff
the caller passes; values are trimmed and capped, and a bad date is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from central.cases.errors import CaseRefused
from central.workflows import WorkflowDefinition
from central.workflows.fees import OverstayTariff, assess_overstay
from central.security.limits import parse_day

TRAVELER_FIELDS = ("document_number", "document_type", "issuing_state", "expiry_date", "surname", "given_names",
                   "sex", "birth_date", "nationality")
APPLICANT_FIELDS = ("applicant_name", "applicant_phone", "applicant_language")
IDENTITY_FIELDS = ("surname", "given_names", "sex", "birth_date", "nik")  # for the passport and its enrolment
DETAINEE_FIELDS = ("detainee_name", "nationality", "document_number", "birth_date")
PLACE_FIELDS = ("gate_id", "direction", "flight", "reason_text")
OVERSTAY = "tpi-07-overstay"


@dataclass(frozen=True)
class FormGroups:
    applicant: bool
    identity: bool
    traveler: bool
    detainee: bool
    place: bool
    overstay: bool


def groups_for(definition: WorkflowDefinition) -> FormGroups:
    enrols = any(s.requires_biometrics for s in definition.steps)
    return FormGroups(
        applicant=definition.reference_prefix is not None or "applicant_name" in definition.context_fields,
        identity=enrols,
        traveler=definition.host in ("escalation", "cctv"),
        detainee="detainee_name" in definition.context_fields,
        place=definition.host in ("escalation", "cctv"),
        overstay=definition.id == OVERSTAY,
    )


def _text(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    return (form.get(name) or "").strip()[:limit]


def _date(text: str, what: str) -> date:
    try:
        return parse_day(text)
    except ValueError:
        raise CaseRefused(f"{what} must be a date (YYYY-MM-DD), got {text!r}") from None


class PlaceForm(BaseModel):
    """Where the case happened. Lengths are the columns' (``cases.gate_id`` is VARCHAR(64)): a longer
    value is refused by name, never cut short or left to the database to refuse."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    gate_id: Annotated[str, Field(max_length=64)] | None = None
    direction: Literal["departure", "arrival"] = "departure"
    flight: Annotated[str, Field(max_length=32)] | None = None
    reason_text: Annotated[str, Field(max_length=200)] | None = None


def _place(form: Mapping[str, str]) -> dict[str, Any]:
    values = {name: form.get(name, "").strip() for name in PLACE_FIELDS if (form.get(name) or "").strip()}
    try:
        place = PlaceForm.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CaseRefused(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return place.model_dump(exclude_none=True)


def context_from(definition: WorkflowDefinition, form: Mapping[str, str], *, today: date,
                 tariff: OverstayTariff) -> dict[str, Any]:
    """The context a case opened by hand carries, from the form fields its groups show."""
    groups = groups_for(definition)
    context: dict[str, Any] = {"source": "manual"}
    if groups.applicant:
        for name in APPLICANT_FIELDS:
            if _text(form, name):
                context[name] = _text(form, name, 120)
        if context.get("applicant_language") not in (None, "id", "en"):
            raise CaseRefused("applicant_language must be id or en")
    if groups.identity:
        for name in IDENTITY_FIELDS:
            value = _text(form, name, 80).upper()
            if value:
                context[name] = value
        if "birth_date" in context:
            context["birth_date"] = _date(context["birth_date"], "birth date").isoformat()
        if context.get("sex") not in (None, "M", "F", "X"):
            raise CaseRefused("sex must be M, F or X")
        context.setdefault("applicant_name", " ".join(p for p in (context.get("given_names"), context.get("surname")) if p))
    if groups.traveler:
        traveler = {name: _text(form, name, 80).upper() for name in TRAVELER_FIELDS if _text(form, name)}
        for name in ("expiry_date", "birth_date"):
            if name in traveler:
                traveler[name] = _date(traveler[name], name.replace("_", " ")).isoformat()
        if traveler:
            context["traveler"] = traveler
    if groups.detainee:
        for name in DETAINEE_FIELDS:
            if _text(form, f"detainee_{name}" if not name.startswith("detainee") else name):
                context[name] = _text(form, f"detainee_{name}" if not name.startswith("detainee") else name, 120)
    if groups.place:
        context.update(_place(form))
    if groups.overstay:
        expiry = _date(_text(form, "permit_expiry"), "permit expiry")
        departure = _date(_text(form, "departure"), "departure") if _text(form, "departure") else today
        context["overstay"] = assess_overstay(expiry, departure, tariff).model_dump(mode="json")
    return context
