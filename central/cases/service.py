"""Cases in the database: open, complete a step (through the pure engine, audited, with the step's
effects), query with the case clock, and open cases from gate events inside the ingest transaction.

Nothing here commits; the caller (a view, the ingest worker, a CLI) commits the case together
with its audit entry, so a step is never recorded without its audit row.

Who may act is decided from the positions the acting user holds (``central.cases.positions``);
code that acts for the office itself (a gate event, the CCTV node, the receptionist) passes an
``Actor`` without a role and the positions it acts in.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import Session

import central.watchlists.models as watchlist_models  # the hit's list and agency; its tables join Base
from central.cases import calendar_store
from central.cases.errors import CaseNotFound, CaseRefused, DefinitionMissing
from central.cases.mapping import may_open_case, opening_for_event
from central.cases.models import Case, CaseBiometrics, CaseLink, CaseStepRecord
from central.cases.positions import positions_of
from central.models import Gate, as_utc, from_ms
from central.services import audit
from central.services.audit import Actor
from central.workflows import (
    CaseState,
    Step,
    WorkflowDefinition,
    WorkflowError,
    WorkingCalendar,
    complete_step,
    deadlines,
    start_case,
)
from central.workflows.fees import OverstayTariff, assess_overstay
from central.workflows.registry import VersionNotRetained, WorkflowRegistry, load_registry
from protocol.messages import GateEvent

log = logging.getLogger(__name__)

OVERSTAY = "tpi-07-overstay"
CCTV_ONLY = frozenset({"it-05-cctv-alarm"})  # all a cctv_operator may see or work
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


@lru_cache(maxsize=1)
def registry() -> WorkflowRegistry:
    return load_registry()


def curated() -> list[WorkflowDefinition]:
    """The workflows cases run on (every definition shipped is curated by hand)."""
    return [d for d in registry().sorted() if d.curated]


def visible_workflows(role: str | None) -> frozenset[str] | None:
    """The workflows *role* may see; None means all (confidential ones are checked per case)."""
    return CCTV_ONLY if role == "cctv_operator" else None


def may_see(definition: WorkflowDefinition, role: str | None, held: frozenset[str] | None) -> bool:
    """A confidential workflow (int-05) is seen only by holders of the positions acting in it;
    *held* None means code acting for the office."""
    allowed = visible_workflows(role)
    if allowed is not None and definition.id not in allowed:
        return False
    if definition.confidential and held is not None:
        return bool(held & set(definition.positions))
    return True


def ms(value: datetime) -> int:
    return int(as_utc(value).timestamp() * 1000)  # type: ignore[union-attr]


def calendar_for(session: Session, *, days_are_working_days: bool = False) -> WorkingCalendar:
    return calendar_store.calendar(session, days_are_working_days=days_are_working_days)


def new_reference(session: Session, prefix: str) -> str:
    """An application number that cannot be guessed from another one (40 random bits)."""
    while True:
        code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
        reference = f"{prefix}-{code}"
        if session.scalar(select(Case.id).where(Case.reference == reference)) is None:
            return reference


def held_by(session: Session, actor: Actor) -> frozenset[str] | None:
    """The positions a person acts in; None for code acting for the office (no role)."""
    if actor.role is None:
        return None
    return positions_of(session, actor.username)


# ------------------------------------------------------------------ opening


def open_case(
    session: Session,
    workflow_id: str,
    *,
    now_ms: int,
    actor: Actor,
    context: dict[str, Any] | None = None,
    start_at: str | None = None,
    source_message_id: str | None = None,
    linked_from: Case | None = None,
    relation: str = "",
    calendar: WorkingCalendar | None = None,
) -> Case:
    """Open a case on *workflow_id*, audited as ``case_opened``.

    A person (an actor with a role) must hold one of the workflow's opening positions; code
    acting for the office (a gate event, the CCTV node, a linked case) may open any. *linked_from*
    records the case this one follows from, both ways."""
    try:
        definition = registry().get(workflow_id)
    except KeyError as exc:
        raise CaseRefused(str(exc.args[0])) from None
    context = dict(context or {})
    held = held_by(session, actor)
    if not may_see(definition, actor.role, held):
        raise CaseRefused(f"role {actor.role} may not open {workflow_id} cases")
    if held is not None and not (held & set(definition.openers)):
        who = ", ".join(definition.openers) or "the system only (a gate, the CCTV node, a linked case)"
        raise CaseRefused(
            f"{workflow_id} is opened by {who}; {actor.username} holds {', '.join(sorted(held)) or 'no position'}"
        )
    missing = [name for name in definition.context_fields if context.get(name) in (None, "")]
    if missing:
        raise CaseRefused(f"{workflow_id} needs {', '.join(missing)} to open")
    calendar = calendar or calendar_for(session)
    try:
        # The engine's case_id is filled in once the row has its id.
        state = start_case(definition, case_id="new", now_ms=now_ms, context=context, start_at=start_at, calendar=calendar)
    except KeyError as exc:
        raise CaseRefused(str(exc.args[0])) from None
    row = Case(
        workflow_id=definition.id,
        version=definition.version,
        status="open",
        current_step=state.current_step,
        current_since=from_ms(now_ms),
        current_due_at=from_ms(state.current_due_ms) if state.current_due_ms is not None else None,
        opened_at=from_ms(now_ms),
        opened_by=actor.username if actor.role else None,
        gate_id=context.get("gate_id"),
        transaction_id=context.get("transaction_id"),
        reference=new_reference(session, definition.reference_prefix) if definition.reference_prefix else None,
        source_message_id=source_message_id,
        context=context,
        state={},
    )
    session.add(row)
    session.flush()
    if linked_from is not None:
        context = {**context, "linked_from": {"case_id": linked_from.id, "workflow": linked_from.workflow_id}}
        row.context = context
        state = state.model_copy(update={"context": context})
        session.add(CaseLink(case_id=linked_from.id, kind="case", target=str(row.id), relation=relation or definition.title_en))
        session.add(CaseLink(case_id=row.id, kind="case", target=str(linked_from.id), relation="opened from"))
    row.state = state.model_copy(update={"case_id": str(row.id)}).model_dump(mode="json")
    audit.record(session, actor, "case_opened", target=f"case:{row.id}",
                 details={"workflow": definition.id, "step": state.current_step, "gate": row.gate_id,
                          "reference": row.reference, "linked_from": linked_from.id if linked_from else None})
    log.info("case %d opened: %s at %s (gate %s)", row.id, definition.id, state.current_step, row.gate_id)
    return row


def open_follow_up(session: Session, source: Case, workflow_id: str, *, now_ms: int, actor: Actor,
                   context: dict[str, Any] | None = None) -> Case:
    """A person opens a linked case the source's workflow lists as a follow-up (int-02 -> int-04)."""
    definition = definition_of(source)
    if workflow_id not in definition.follow_ups:
        raise CaseRefused(f"{definition.id} cases lead to {', '.join(definition.follow_ups) or 'no other workflow'}")
    carried = {k: v for k, v in source.context.items() if k not in ("linked_from",)}
    return open_case(session, workflow_id, now_ms=now_ms, actor=actor, context={**carried, **(context or {})},
                     linked_from=source, relation=registry().get(workflow_id).title_en)


def overstay_context(permit_expiry: date, departure: date, tariff: OverstayTariff) -> dict[str, Any]:
    """The tpi-07 assessment a case carries: days past the permit, fee and the tariff's source."""
    return {"overstay": assess_overstay(permit_expiry, departure, tariff).model_dump(mode="json")}


def open_cases_for_event(session: Session, gate: Gate | str, event: GateEvent, message_id: str,
                         at: datetime | None = None) -> list[Case]:
    """Called by ingest for each new gate event, in its transaction: a hold opens a cekal (or
    Interpol) case, a counter referral a gate-referral case. At most one case per event (the
    message id is unique) and per gate transaction and workflow (a hold sends several events).

    A failure here is logged and rolled back to a savepoint: it must never stop the event, and
    its alert, from being stored."""
    gate_id = gate if isinstance(gate, str) else gate.id
    if not may_open_case(event):
        return []  # most events: no savepoint (two round trips on every event at ingest)
    try:
        with session.begin_nested():
            return _open_for_event(session, gate_id, event, message_id, at)
    except Exception:
        log.exception("gate %s: could not open a case for event %s (%s)", gate_id, message_id, event.event)
        return []


def _open_for_event(session: Session, gate_id: str, event: GateEvent, message_id: str,
                    at: datetime | None) -> list[Case]:
    entry_id = event.details.get("watchlist_entry")
    entry = session.get(watchlist_models.WatchlistEntryRow, entry_id) if isinstance(entry_id, str) else None
    gate_row = session.get(Gate, gate_id)
    opening = opening_for_event(gate_id, event, entry.list_name if entry else None,
                                direction=gate_row.direction if gate_row else None)
    if opening is None:
        return []
    if session.scalar(select(Case.id).where(Case.source_message_id == message_id)) is not None:
        return []
    existing = None
    if event.transaction_id:
        existing = session.scalar(select(Case).where(
            Case.gate_id == gate_id, Case.transaction_id == event.transaction_id,
            Case.workflow_id.in_(_same_kind(opening.workflow_id))))
    if existing is not None:
        _complete_hold_context(existing, opening.context, entry)
        return []
    context = dict(opening.context)
    if entry is not None:
        context["watchlist"] = {**context.get("watchlist", {}), **_entry_facts(entry)}
    now_ms = ms(at) if at is not None else int(datetime.now().timestamp() * 1000)
    row = open_case(session, opening.workflow_id, now_ms=now_ms, actor=Actor(username=f"gate:{gate_id}"[:64], role=None),
                    context=context, start_at=opening.start_at, source_message_id=message_id)
    return [row]


def _entry_facts(entry: Any) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "list": entry.list_name,
        "agency": entry.agency,  # instansi pengusul: who step 7 verifies with
        "interested_party": entry.interested_party,
        "reason": entry.reason,
    }


def _complete_hold_context(row: Case, context: dict[str, Any], entry: Any) -> None:
    """A hold arrives as several events (the hold, the door closing, the alarm): the case is opened
    by the first, and a later one may carry what the first lacked (the reason, the entry)."""
    updated = dict(row.context)
    changed = False
    if not updated.get("reason") and context.get("reason"):
        updated["reason"], updated["reason_text"] = context["reason"], context["reason_text"]
        changed = True
    watchlist = dict(updated.get("watchlist") or {})
    facts = {**context.get("watchlist", {}), **(_entry_facts(entry) if entry is not None else {})}
    for key, value in facts.items():
        if value and not watchlist.get(key):
            watchlist[key] = value
            changed = True
    if changed:
        updated["watchlist"] = watchlist
        row.context = updated
        row.state = {**row.state, "context": updated}


def _same_kind(workflow_id: str) -> tuple[str, ...]:
    # One hold is one case, whether tpi-03 or tpi-04 opened it; a referral after the hold is its tail.
    if workflow_id in ("tpi-03-cekal", "tpi-04-interpol"):
        return ("tpi-03-cekal", "tpi-04-interpol")
    return ("tpi-03-cekal", "tpi-04-interpol", workflow_id)


# ------------------------------------------------------------------ working a case


def get_case(session: Session, case_id: int, *, role: str | None = None, username: str | None = None,
             for_update: bool = False) -> Case:
    """The case, if the viewer may see it (a confidential workflow needs one of its positions)."""
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    held = positions_of(session, username) if role is not None else None
    if not may_see(registry().get(row.workflow_id), role, held):
        raise CaseNotFound(f"no case {case_id}")
    return row


def by_reference(session: Session, reference: str) -> Case | None:
    reference = reference.strip().upper()
    if not reference or len(reference) > 32:
        return None
    return session.scalar(select(Case).where(Case.reference == reference))


def state_of(row: Case) -> CaseState:
    return CaseState.model_validate(row.state)


def definition_of(row: Case) -> WorkflowDefinition:
    """The definition *row* runs on: the version it was opened with (or migrated to), current or
    retired. New cases open on the current version; open ones continue on their own."""
    try:
        return registry().get(row.workflow_id, row.version)
    except VersionNotRetained as exc:
        log.error("case %s: %s", row.id, exc)
        raise DefinitionMissing(row.id, row.workflow_id, row.version, registry().versions(row.workflow_id)) from None
    except KeyError as exc:
        raise CaseRefused(f"case {row.id}: {exc.args[0]}") from None


def display_definition(row: Case) -> WorkflowDefinition:
    """For lists and summaries: the case's own version, else the current one (a case whose version
    is missing still shows in lists; its page says what to do)."""
    try:
        return definition_of(row)
    except DefinitionMissing:
        return registry().get(row.workflow_id)


def recorded_step(definition: WorkflowDefinition, step_id: str) -> Step | None:
    """A step of the case's history: in the case's version, else in another installed version of
    the workflow (a migrated case keeps the records of the version it came from)."""
    for candidate in _versions_newest_first(definition):
        try:
            return candidate.step(step_id)
        except KeyError:
            continue
    return None


def recorded_document(definition: WorkflowDefinition, key: str) -> Any:
    for candidate in _versions_newest_first(definition):
        try:
            return candidate.document(key)
        except KeyError:
            continue
    return None


def _versions_newest_first(definition: WorkflowDefinition) -> list[WorkflowDefinition]:
    others = [registry().get(definition.id, v) for v in reversed(registry().versions(definition.id))
              if v != definition.version]
    return [definition, *others]


def migrate_case(session: Session, case_id: int, *, to_version: int, actor: Actor, now_ms: int,
                 at_step: str | None = None, calendar: WorkingCalendar | None = None) -> Case:
    """Move an open case to another installed version of its workflow, audited as ``case_migrated``.

    The administrator's way out when a case's version is not installed (or must move on): the
    history stays as it was recorded; the case goes on at its current step when that step id exists
    in the target version, else at *at_step*, which the administrator names."""
    row = get_case(session, case_id, for_update=True)
    state = state_of(row)
    if row.status != "open" or state.current_step is None:
        raise CaseRefused(f"case {row.id} is closed; only an open case is moved to another version")
    try:
        target = registry().get(row.workflow_id, to_version)
    except KeyError as exc:
        raise CaseRefused(f"case {row.id}: {exc.args[0] if not isinstance(exc, VersionNotRetained) else exc}") from None
    if to_version == row.version:
        raise CaseRefused(f"case {row.id} already runs {row.workflow_id} v{to_version}")
    step_id = at_step or state.current_step
    if step_id not in {s.id for s in target.steps}:
        known = ", ".join(s.id for s in target.steps)
        how = "name the step it goes on at (--at-step)" if at_step is None else "name one of its steps"
        raise CaseRefused(f"case {row.id}: {row.workflow_id} v{to_version} has no step {step_id!r}; {how}: {known}")
    calendar = calendar or calendar_for(session)
    from central.workflows.engine import due_at

    since = state.current_since_ms if step_id == state.current_step else now_ms
    new = state.model_copy(update={
        "workflow_version": to_version, "current_step": step_id, "current_since_ms": since,
        "current_due_ms": due_at(target, step_id, since, state.history, calendar)})
    from_version, from_step = row.version, state.current_step
    row.version = to_version
    _store_state(row, new)
    audit.record(session, actor, "case_migrated", target=f"case:{row.id}", details={
        "workflow": row.workflow_id, "from_version": from_version, "to_version": to_version,
        "from_step": from_step, "to_step": step_id})
    log.warning("case %d moved from %s v%d (%s) to v%d (%s) by %s", row.id, row.workflow_id, from_version,
                from_step, to_version, step_id, actor.username)
    return row


def complete(
    session: Session,
    case_id: int,
    *,
    actor: Actor,
    step_id: str,
    now_ms: int,
    answer: str | None = None,
    data: dict[str, Any] | None = None,
    positions: frozenset[str] | None = None,
    calendar: WorkingCalendar | None = None,
) -> Case:
    """Complete the case's current step as *actor*, in the positions they hold (looked up unless
    given: code acting for the office passes its own, e.g. ``{"system"}``); then the step's effects."""
    from central.cases import effects

    held = positions if positions is not None else positions_of(session, actor.username)
    row = get_case(session, case_id, role=actor.role, username=actor.username, for_update=True)
    definition = definition_of(row)
    state = state_of(row)
    data = {k: v for k, v in (data or {}).items() if v not in (None, "")}
    if row.workflow_id == OVERSTAY and step_id == "compute":
        data, answer = _overstay_compute(row, data, answer)
    if step_id == state.current_step and definition.step(step_id).requires_biometrics \
            and session.get(CaseBiometrics, row.id) is None:
        raise CaseRefused(f"case {row.id}: step {step_id!r} needs the applicant's face and fingerprint captured first")
    calendar = calendar or calendar_for(session)
    try:
        new = complete_step(definition, state, step_id=step_id, actor=actor.username or "unknown", positions=held,
                            now_ms=now_ms, answer=answer or None, data=data, role=actor.role or "", calendar=calendar)
    except WorkflowError as exc:
        raise CaseRefused(str(exc)) from None
    record = new.history[-1]
    session.add(CaseStepRecord(
        case_id=row.id, step_id=record.step_id, actor=record.actor, role=record.role, position=record.position,
        waited_on=record.waited_on, started_at=from_ms(record.started_at_ms), completed_at=from_ms(record.completed_at_ms),
        due_at=from_ms(record.due_at_ms) if record.due_at_ms is not None else None, standard_s=record.standard_s,
        within_standard=record.within_standard, answer=record.answer, data=dict(record.data),
        documents=",".join(record.documents)))
    _store_state(row, new)
    audit.record(session, actor, "case_step_completed", target=f"case:{row.id}", details={
        "workflow": row.workflow_id, "step": step_id, "answer": answer, "position": record.position,
        "fields": sorted(data),  # names only: values may carry document numbers
        "documents": list(record.documents), "within_standard": record.within_standard, "status": new.status})
    log.info("case %d: %s completed by %s (%s)", row.id, step_id, actor.username, record.position)
    effects.apply(session, definition, row, record, actor=actor, now_ms=now_ms, calendar=calendar)
    if new.status == "closed":
        biometrics = session.get(CaseBiometrics, row.id)
        if biometrics is not None:  # minimisation: a case that ended without enrolling keeps no templates
            session.delete(biometrics)
    return row


def _store_state(row: Case, new: CaseState) -> None:
    row.state = new.model_dump(mode="json")
    row.status = new.status
    row.current_step = new.current_step
    row.current_since = from_ms(new.current_since_ms)
    row.current_due_at = from_ms(new.current_due_ms) if new.current_due_ms is not None else None
    row.overdue_notified_at = None
    row.outcome = new.outcome
    row.closed_at = from_ms(new.closed_at_ms) if new.closed_at_ms is not None else None


def _overstay_compute(row: Case, data: dict[str, Any], answer: str | None) -> tuple[dict[str, Any], str | None]:
    """tpi-07 step 4: days and fee come from the assessment made when the case was opened, never
    typed in, so the billing record and the payment proof follow the tariff."""
    assessment = row.context.get("overstay")
    if not assessment:
        raise CaseRefused(f"case {row.id}: no overstay assessment (permit expiry and departure date) on the case")
    expected = "up_to_60_days" if assessment["within_tpi_07"] else "over_60_days"
    if answer and answer != expected:
        raise CaseRefused(f"case {row.id}: the overstay is {assessment['overstay_days']} days; the answer is {expected}")
    return {**data, "overstay_days": assessment["overstay_days"], "fee_idr": assessment["fee_idr"]}, expected


# ------------------------------------------------------------------ the case clock and queries


@dataclass(frozen=True)
class CaseClock:
    """Time in the current step against the SOP standard (jam kasus)."""

    step_id: str | None
    since_ms: int
    elapsed_s: int
    standard_s: int | None
    due_at_ms: int | None
    overdue_s: int

    @property
    def is_overdue(self) -> bool:
        return self.overdue_s > 0


def clock(row: Case, now_ms: int) -> CaseClock:
    state = state_of(row)
    definition = display_definition(row)
    due = deadlines(definition, state, now_ms=now_ms)
    step = _step_or_none(definition, state.current_step)
    standard = step.time.deadline_seconds if step is not None else None
    elapsed = max(0, now_ms - state.current_since_ms) // 1000 if state.status == "open" else 0
    return CaseClock(step_id=state.current_step, since_ms=state.current_since_ms, elapsed_s=elapsed,
                     standard_s=standard, due_at_ms=due[0].due_at_ms if due else None,
                     overdue_s=due[0].overdue_ms // 1000 if due else 0)


@dataclass(frozen=True)
class CaseQuery:
    workflow: str | None = None
    status: str | None = None  # open / closed
    gate: str | None = None
    reference: str | None = None
    limit: int = 200


def list_cases(session: Session, query: CaseQuery, *, role: str | None = None, username: str | None = None) -> list[Case]:
    """Open cases first, then newest first; confidential workflows only for their positions."""
    stmt = select(Case)
    if query.workflow:
        stmt = stmt.where(Case.workflow_id == query.workflow)
    if query.status:
        stmt = stmt.where(Case.status == query.status)
    if query.gate:
        stmt = stmt.where(Case.gate_id == query.gate)
    if query.reference:
        stmt = stmt.where(Case.reference == query.reference.strip().upper())
    held = positions_of(session, username) if role is not None else None
    hidden = [d.id for d in registry().sorted() if not may_see(d, role, held)]
    if hidden:
        stmt = stmt.where(Case.workflow_id.not_in(hidden))
    open_first = sql_case((Case.status == "open", 0), else_=1)
    stmt = stmt.order_by(open_first, Case.opened_at.desc(), Case.id.desc()).limit(query.limit)
    return list(session.scalars(stmt))


def case_view(row: Case, now_ms: int) -> dict[str, Any]:
    """The JSON shape of a case (API and console): no MRZ lines, no biometrics."""
    definition = display_definition(row)
    tick = clock(row, now_ms)
    traveler = row.context.get("traveler") or {}
    step = _step_or_none(definition, row.current_step)
    return {
        "id": row.id,
        "reference": row.reference,
        "workflow_id": row.workflow_id,
        "workflow_title": definition.title_en,
        "workflow_title_id": definition.title_id,
        "status": row.status,
        "current_step": row.current_step,
        "current_step_action": step.action_en if step else None,
        "current_positions": list(step.positions) if step else [],
        "waiting_on": step.waits_on if step else None,
        "opened_at_ms": ms(row.opened_at),
        "closed_at_ms": ms(row.closed_at) if row.closed_at else None,
        # the same times as ISO 8601 with their offset, as the rest of the API gives them
        "opened_at": as_utc(row.opened_at).isoformat() if row.opened_at else None,
        "closed_at": as_utc(row.closed_at).isoformat() if row.closed_at else None,
        "outcome": row.outcome,
        "gate_id": row.gate_id,
        "transaction_id": row.transaction_id,
        "reason": row.context.get("reason"),
        "reason_text": row.context.get("reason_text"),
        "traveler_name": " ".join(p for p in (traveler.get("given_names"), traveler.get("surname")) if p)
        or row.context.get("applicant_name") or row.context.get("detainee_name") or "",
        # the current step in words, for the console's case clock (its id is a code)
        "step_action": _step_words(definition, tick.step_id),
        "clock": {
            "step": tick.step_id,
            "since_ms": tick.since_ms,
            "elapsed_s": tick.elapsed_s,
            "standard_s": tick.standard_s,
            "due_at_ms": tick.due_at_ms,
            "overdue_s": tick.overdue_s,
            "overdue": tick.is_overdue,
        },
    }


def _step_or_none(definition: WorkflowDefinition, step_id: str | None) -> Any:
    if not step_id:
        return None
    try:
        return definition.step(step_id)
    except KeyError:
        return None


def _step_words(definition: Any, step_id: str | None) -> dict[str, str] | None:
    if not step_id:
        return None
    try:
        step = definition.step(step_id)
    except (KeyError, LookupError, ValueError):
        return None
    return {"en": step.action_en, "actor_en": step.actor_en, "actor_id": step.actor_id or step.actor_en}


def step_records(session: Session, case_id: int) -> list[CaseStepRecord]:
    return list(session.scalars(select(CaseStepRecord).where(CaseStepRecord.case_id == case_id).order_by(CaseStepRecord.id)))


def links_of(session: Session, case_id: int) -> list[CaseLink]:
    return list(session.scalars(select(CaseLink).where(CaseLink.case_id == case_id).order_by(CaseLink.id)))


def withdraw(session: Session, case_id: int, *, actor: Actor, now_ms: int, reason: str) -> Case:
    """Close an open case before its end (an applicant withdraws, a caller hangs up), audited."""
    from central.workflows.engine import withdraw as withdrawn

    row = get_case(session, case_id, role=actor.role, username=actor.username, for_update=True)
    try:
        new = withdrawn(state_of(row), now_ms=now_ms, reason=reason)
    except WorkflowError as exc:
        raise CaseRefused(str(exc)) from None
    _store_state(row, new)
    biometrics = session.get(CaseBiometrics, row.id)
    if biometrics is not None:
        session.delete(biometrics)
    audit.record(session, actor, "case_withdrawn", target=f"case:{row.id}", details={"reason": reason[:150]})
    return row


def format_wib(ms_value: int) -> str:
    from central.cases.documents import wib

    return wib(ms_value)
