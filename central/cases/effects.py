"""What completing a step does outside its case: the ``effects`` a definition names, performed in
the same transaction as the step (so a step is never recorded without them, nor they without it).

- ``open_case``: a linked case (gate-referral -> tpi-03, tpi-05 -> tpi-09);
- ``record_crossing``: the mark given at the counter after a gate referral, as a crossing;
- ``enrol``: the biometrics captured at the interview become the enrolment gates verify against;
- ``propose_watchlist``: a proposed entry ban, pending until approved;
- ``notify_applicant``: a message to the applicant, queued for the outgoing adapter (it-06b).
"""

from __future__ import annotations

import base64
import logging
from datetime import date
from string import Template
from typing import Any

from sqlalchemy.orm import Session

from central.cases.errors import CaseRefused
from central.cases.models import Case, CaseBiometrics, CaseLink, GatewayMessage, WatchlistProposal
from central.models import Crossing, Gate, from_ms
from central.services import audit
from central.services.audit import Actor
from central.workflows import StepRecord, WorkflowDefinition, WorkingCalendar, effects_of
from central.workflows.model import Effect

log = logging.getLogger(__name__)

# Carried into a linked case: who and what it is about, never the first case's own progress.
CARRIED = ("source", "gate_id", "direction", "transaction_id", "reason", "reason_text", "traveler", "watchlist",
           "applicant_name", "applicant_phone", "applicant_language", "detainee_name", "nationality", "flight")


def apply(session: Session, definition: WorkflowDefinition, row: Case, record: StepRecord, *, actor: Actor,
          now_ms: int, calendar: WorkingCalendar) -> None:
    for effect in effects_of(definition, record):
        handler = _HANDLERS[effect.kind]
        handler(session, row, record, effect, actor, now_ms, calendar)


def _open_case(session: Session, row: Case, record: StepRecord, effect: Effect, actor: Actor, now_ms: int,
               calendar: WorkingCalendar) -> None:
    from central.cases.service import open_case

    context = {k: row.context[k] for k in CARRIED if k in row.context}
    context["source"] = f"case:{row.id}"
    linked = open_case(session, effect.workflow or "", now_ms=now_ms, actor=Actor(actor.username, None, actor.ip),
                       context=context, start_at=effect.start_at, linked_from=row,
                       relation=effect.relation, calendar=calendar)
    log.info("case %d (%s) opened linked case %d (%s)", row.id, record.step_id, linked.id, linked.workflow_id)


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _record_crossing(session: Session, row: Case, record: StepRecord, effect: Effect, actor: Actor, now_ms: int,
                     calendar: WorkingCalendar) -> None:
    """The counter gives the mark the gate did not: the traveller's crossing (perlintasan) is recorded
    for the referring gate's transaction, with the counter officer and the flight."""
    traveler = row.context.get("traveler") or {}
    gate = session.get(Gate, row.gate_id) if row.gate_id else None
    if gate is None or not traveler.get("document_number"):
        raise CaseRefused(f"case {row.id}: no gate and traveller data on the case; record the crossing in BCM")
    crossing = Crossing(
        message_id=f"case{row.id}-{record.step_id}"[:32],
        transaction_id=(row.transaction_id or f"case-{row.id}")[:64],
        gate_id=gate.id,
        direction=row.context.get("direction") or gate.direction,
        document_number=str(traveler.get("document_number", ""))[:20],
        document_type=str(traveler.get("document_type", "P"))[:2],
        issuing_state=str(traveler.get("issuing_state", ""))[:3],
        expiry_date=_date(traveler.get("expiry_date")),
        given_names=str(traveler.get("given_names", ""))[:80],
        surname=str(traveler.get("surname", ""))[:80],
        sex=str(traveler.get("sex", "X"))[:1],
        birth_date=_date(traveler.get("birth_date")),
        nationality=str(traveler.get("nationality", ""))[:3],
        biometrics={},
        timings_ms={"counter_ms": record.completed_at_ms - record.started_at_ms},
        recorded_by=actor.username,
        started_at=from_ms(row.context.get("referred_at_ms") or record.started_at_ms),
        completed_at=from_ms(now_ms),
    )
    session.add(crossing)
    session.flush()
    session.add(CaseLink(case_id=row.id, kind="crossing", target=str(crossing.id), relation="crossing recorded at the counter",
                         step_id=record.step_id))
    audit.record(session, actor, "crossing_recorded_at_counter", target=f"crossing:{crossing.id}",
                 details={"case": row.id, "gate": gate.id, "flight": record.data.get("flight")})


def _enrol(session: Session, row: Case, record: StepRecord, effect: Effect, actor: Actor, now_ms: int,
           calendar: WorkingCalendar) -> None:
    """The approved application's templates become the enrolment gates fetch (same engines)."""
    from central.enrolments import service as enrolments
    from central.enrolments.service import EnrolmentIn
    from central.workflows import CaseState

    biometrics = session.get(CaseBiometrics, row.id)
    if biometrics is None:
        raise CaseRefused(f"case {row.id}: no captured face or fingerprint to enrol")
    state = CaseState.model_validate(row.state)
    recorded = {k: v for r in state.history for k, v in r.data.items()}
    passport_number, expiry = recorded.get("passport_number"), recorded.get("expiry_date")
    ctx = row.context
    missing = [name for name, value in (("passport number", passport_number), ("expiry date", expiry),
                                        ("surname", ctx.get("surname")), ("birth date", ctx.get("birth_date")))
               if not value]
    if missing:
        raise CaseRefused(f"case {row.id}: cannot enrol without the {', '.join(missing)}")
    item = EnrolmentIn(
        document_number=str(passport_number), document_type="P", issuing_state="IDN", nationality="IDN",
        expiry_date=_date(expiry), birth_date=_date(ctx.get("birth_date")),
        surname=str(ctx.get("surname", "")), given_names=str(ctx.get("given_names", "")),
        sex=ctx.get("sex") if ctx.get("sex") in ("M", "F") else "X",
        face_template=base64.b64encode(biometrics.face_template).decode() if biometrics.face_template else None,
        face_model=biometrics.face_model, face_model_version=biometrics.face_model_version,
        fingerprint_iso=base64.b64encode(biometrics.fingerprint_iso).decode() if biometrics.fingerprint_iso else None,
        finger_position=biometrics.finger_position,
    )
    enrolment = enrolments.create(session, item, actor, source="issuance")
    session.delete(biometrics)  # the templates now live in the enrolment only
    session.add(CaseLink(case_id=row.id, kind="enrolment", target=str(enrolment.id),
                         relation=effect.relation or "enrolment the gates verify against", step_id=record.step_id))
    log.info("case %d: enrolment %d created from the interview's capture", row.id, enrolment.id)


def _propose_watchlist(session: Session, row: Case, record: StepRecord, effect: Effect, actor: Actor, now_ms: int,
                       calendar: WorkingCalendar) -> None:
    ctx = row.context
    traveler = ctx.get("traveler") or {}
    years = str(record.data.get("ban_years") or "").strip()
    data = {
        # The fields of a watchlist entry (central.watchlists.service.build_entry), for the approver to check.
        "list": "penangkalan",
        "surname": str(traveler.get("surname") or ctx.get("detainee_name") or "")[:120],
        "given_names": str(traveler.get("given_names") or "")[:120],
        "document_numbers": [d for d in (ctx.get("document_number") or traveler.get("document_number"),) if d],
        "nationality": ctx.get("nationality") or traveler.get("nationality"),
        "birth_date": ctx.get("birth_date") or traveler.get("birth_date"),
        "agency": "Kantor Imigrasi Kelas I Khusus TPI Soekarno-Hatta",
        "reason": str(record.data.get("reason") or f"deported (case {row.id})")[:500]
        + (f"; proposed for {years} years" if years else ""),
    }
    proposal = WatchlistProposal(case_id=row.id, status="proposed", data=data)
    session.add(proposal)
    session.flush()
    session.add(CaseLink(case_id=row.id, kind="watchlist_proposal", target=str(proposal.id),
                         relation=effect.relation or "proposed entry ban", step_id=record.step_id))
    audit.record(session, actor, "watchlist_proposed", target=f"watchlist_proposal:{proposal.id}", details={"case": row.id})


def _notify_applicant(session: Session, row: Case, record: StepRecord, effect: Effect, actor: Actor, now_ms: int,
                      calendar: WorkingCalendar) -> None:
    """Queue the message for the outgoing adapter; the office worker sends it and records the status."""
    phone = row.context.get("applicant_phone")
    if not phone:
        log.info("case %d: no applicant phone, %s message not sent", row.id, record.step_id)
        return
    english = row.context.get("applicant_language") == "en"
    text = Template(effect.message_en if english else effect.message_id).safe_substitute(reference=row.reference or f"#{row.id}")
    session.add(GatewayMessage(direction="out", channel="whatsapp", address=str(phone)[:200], text=text,
                               status="queued", case_id=row.id))


_HANDLERS = {
    "open_case": _open_case,
    "record_crossing": _record_crossing,
    "enrol": _enrol,
    "propose_watchlist": _propose_watchlist,
    "notify_applicant": _notify_applicant,
}
