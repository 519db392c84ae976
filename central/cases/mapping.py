"""Which gate event opens which case, pure (no session, no clock).

A watchlist hold (autogate.md B3) opens tpi-03 (cekal) at step 5 (its ``gate_hold`` entry), or
tpi-04 (Interpol) at re-verification when the hit is on an Interpol list. A referral to the manual
counter (B1/B2/B4/B5) opens ``gate-referral`` with the gate's reason, so the counter officer sees
why the gate refused; its clock starts when the traveller presents at the counter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from central.ingest.rules import alerts_for_event
from protocol.messages import GateEvent

CEKAL, INTERPOL, REFERRAL = "tpi-03-cekal", "tpi-04-interpol", "gate-referral"
INTERPOL_LISTS = frozenset({"interpol_sltd", "interpol_notice"})
REFERRAL_EVENT = "referral_recorded"

# The gate's reason codes, in words for the counter officer (alasan penolakan autogate).
REASON_TEXT: dict[str, str] = {
    "unreadable": "The document could not be read (dokumen tidak terbaca)",
    "document_unreadable": "The document could not be read (dokumen tidak terbaca)",
    "scan_timeout": "No document was scanned in time",
    "document_invalid": "The document failed the validity checks (dokumen tidak sah)",
    "document_used_recently": "The document was already used at a gate (passback)",
    "fingerprint_not_presented": "No fingerprint was presented",
    "fingerprint_unreadable": "The fingerprint could not be read",
    "fingerprint_mismatch": "The fingerprint did not match the document (sidik jari tidak cocok)",
    "face_not_captured": "No face could be captured",
    "face_mismatch": "The face did not match the document photo (wajah tidak cocok)",
    "not_enrolled": "No biometric enrolment for this document (belum terdaftar)",
    "enrolment_unavailable": "The enrolled biometrics could not be obtained from central",
    "supervisor": "Sent to the counter by the supervisor",
    "supervisor_timeout": "No supervisor decision in time",
    "tailgating": "More than one person entered the gate",
    "cekal_identik": "Identical watchlist hit (cekal identik)",
}


@dataclass(frozen=True)
class CaseOpening:
    """What a case opened from a gate event looks like: workflow, entry step, context."""

    workflow_id: str
    start_at: str
    context: dict[str, Any] = field(default_factory=dict)


def reason_text(code: str | None) -> str:
    if not code:
        return "No reason given by the gate"
    # document_invalid reasons arrive comma-joined ("expired,bad_check_digit").
    parts = [REASON_TEXT.get(part, part.replace("_", " ")) for part in code.split(",")]
    return "; ".join(parts)


def is_hold(event: GateEvent) -> bool:
    return any(rule.kind == "watchlist_hold" for rule in alerts_for_event(event))


def watchlist_list(event: GateEvent) -> str | None:
    for key in ("watchlist_list", "list"):
        value = event.details.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def may_open_case(event: GateEvent) -> bool:
    """Whether :func:`opening_for_event` can open anything for *event*, whatever the list or gate."""
    return is_hold(event) or event.event == REFERRAL_EVENT


def opening_for_event(
    gate_id: str, event: GateEvent, entry_list: str | None = None, *, direction: str | None = None
) -> CaseOpening | None:
    """The case *event* opens, or None. *entry_list* is the hit's list when central knows the
    entry (the gate's event names only the entry id); *direction* is the gate's (a citizen held
    on arrival is handed over, never "postponed")."""
    context: dict[str, Any] = {
        "source": "gate",
        "gate_id": gate_id,
        "direction": direction or "departure",
        "event": event.event,
        "transaction_id": event.transaction_id,
        "reason": event.reason,
        "reason_text": reason_text(event.reason),
    }
    if event.traveler is not None:
        context["traveler"] = event.traveler.model_dump(mode="json")
    if is_hold(event):
        listed = watchlist_list(event) or entry_list
        entry = event.details.get("watchlist_entry")
        context["watchlist"] = {
            "entry_id": entry if isinstance(entry, str) else None,
            "list": listed,
        }
        if listed in INTERPOL_LISTS:
            return CaseOpening(INTERPOL, "gate_hold", context)
        return CaseOpening(CEKAL, "gate_hold", context)
    if event.event == REFERRAL_EVENT:
        return CaseOpening(REFERRAL, "gate_referral", context)
    return None
