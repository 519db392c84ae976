"""Running one case through its workflow: pure functions from (definition, state, act) to state.

A case records, for every step, who completed it, holding which position, when the step became
due and when it was done, the deadline it is measured against (from the office's working-day
calendar), the outside party it waited on, the answer at a decision, the data recorded and the
documents it produced. That record is what the SOP asks for (autogate.md §9: "for every step,
the actor, the start and end time, the SOP time standard and the documents produced") and what
SLA compliance is measured from.

The rules it enforces: only the step that is due, only by someone holding one of the step's
positions, never an approval by whoever did the step it approves (separation of duties), the
required data, and an answer the decision offers for this case's facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from central.workflows.calendar import WorkingCalendar
from central.workflows.model import Effect, Step, WorkflowDefinition

DEFAULT_CALENDAR = WorkingCalendar()


class WorkflowError(ValueError):
    """An act the workflow does not allow: wrong step, wrong position, missing data, unknown answer."""


class SeparationOfDuties(WorkflowError):
    """An approval by the person who did the step it approves."""


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str
    started_at_ms: int
    completed_at_ms: int
    due_at_ms: int | None = None  # None: "kondisional", measured but never flagged
    actor: str
    role: str = ""  # the application role the actor logged in with
    position: str = ""  # the position the step was taken in
    waited_on: str | None = None  # the outside party whose reply this step recorded
    standard_s: int | None = None  # nominal standard in seconds, for people reading the record
    answer: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    documents: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return (self.completed_at_ms - self.started_at_ms) / 1000

    @property
    def within_standard(self) -> bool | None:
        if self.due_at_ms is None:
            return None
        return self.completed_at_ms <= self.due_at_ms


class CaseState(BaseModel):
    """Everything about one case that the engine needs; the caller stores it (JSON) as it likes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    workflow_id: str
    workflow_version: int
    opened_at_ms: int
    status: Literal["open", "closed"] = "open"
    current_step: str | None
    current_since_ms: int
    current_due_ms: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)  # gate, traveler, applicant, watchlist ...
    history: tuple[StepRecord, ...] = ()
    outcome: str | None = None  # while open: the disposition a branch set, if any
    closed_at_ms: int | None = None


@dataclass(frozen=True)
class Deadline:
    step_id: str
    due_at_ms: int
    overdue_ms: int  # 0 while on time

    @property
    def is_overdue(self) -> bool:
        return self.overdue_ms > 0


def _due(definition: WorkflowDefinition, step_id: str, since_ms: int, history: tuple[StepRecord, ...],
         calendar: WorkingCalendar) -> int | None:
    step = definition.step(step_id)
    shared = step.time.within
    if shared is not None:
        earlier = next((r for r in reversed(history) if r.step_id == shared), None)
        return earlier.due_at_ms if earlier is not None else None
    return step.time.due_ms(since_ms, calendar)


def due_at(definition: WorkflowDefinition, step_id: str, since_ms: int, history: tuple[StepRecord, ...],
           calendar: WorkingCalendar = DEFAULT_CALENDAR) -> int | None:
    """When *step_id* is due if it became current at *since_ms* (None: no standard)."""
    return _due(definition, step_id, since_ms, history, calendar)


def start_case(
    definition: WorkflowDefinition,
    *,
    case_id: str,
    now_ms: int,
    context: dict[str, Any] | None = None,
    start_at: str | None = None,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> CaseState:
    """Open a case. ``start_at`` enters mid-way (a step id or a named entry): a gate hold enters
    the cekal SOP at step 5."""
    first = definition.entries.get(start_at or "", start_at) or definition.start
    definition.step(first)  # raises on an unknown entry point
    return CaseState(
        case_id=case_id,
        workflow_id=definition.id,
        workflow_version=definition.version,
        opened_at_ms=now_ms,
        current_step=first,
        current_since_ms=now_ms,
        current_due_ms=_due(definition, first, now_ms, (), calendar),
        context=dict(context or {}),
    )


def offered_answers(step: Step, state: CaseState) -> tuple[str, ...]:
    """The answers this case may give at *step*: those whose required facts the case has."""
    return tuple(
        b.answer for b in step.branches
        if all(str(state.context.get(k, "")) == v for k, v in b.requires.items())
    )


def acting_position(step: Step, positions: Iterable[str]) -> str | None:
    """The first of the step's positions the actor holds, or None."""
    held = set(positions)
    return next((p for p in step.positions if p in held), None)


def check_separation(step: Step, state: CaseState, actor: str) -> None:
    """Raise when *actor* did a step that *step* approves (the latest time it was done)."""
    for approved in step.approves:
        done = next((r for r in reversed(state.history) if r.step_id == approved), None)
        if done is not None and done.actor == actor:
            raise SeparationOfDuties(
                f"case {state.case_id}: {actor} did step {approved!r}, which step {step.id!r} approves; "
                "an approval is taken by someone else"
            )


def complete_step(
    definition: WorkflowDefinition,
    state: CaseState,
    *,
    step_id: str,
    actor: str,
    positions: Iterable[str],
    now_ms: int,
    answer: str | None = None,
    data: dict[str, Any] | None = None,
    role: str = "",
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> CaseState:
    """Record that *actor*, holding *positions*, completed *step_id*; return the case moved on."""
    if state.workflow_id != definition.id or state.workflow_version != definition.version:
        raise WorkflowError(
            f"case {state.case_id} runs {state.workflow_id} v{state.workflow_version}, "
            f"not {definition.id} v{definition.version}"
        )
    if state.status != "open":
        raise WorkflowError(f"case {state.case_id} is closed")
    if step_id != state.current_step:
        raise WorkflowError(f"case {state.case_id}: step {step_id!r} is not due (due: {state.current_step!r})")
    step = definition.step(step_id)
    position = acting_position(step, positions)
    if position is None:
        raise WorkflowError(
            f"case {state.case_id}: step {step_id!r} is for {', '.join(step.positions)}; "
            f"{actor} holds {', '.join(sorted(set(positions))) or 'no position'}"
        )
    check_separation(step, state, actor)
    data = dict(data or {})
    missing = [name for name in step.required_fields if data.get(name) in (None, "")]
    if missing:
        raise WorkflowError(f"case {state.case_id}: step {step_id!r} needs {', '.join(missing)}")
    outcome: str | None = None
    if step.is_decision:
        offered = offered_answers(step, state)
        if answer not in offered:
            raise WorkflowError(
                f"case {state.case_id}: step {step_id!r} asks {step.question_en!r}; "
                f"answer one of {', '.join(offered)}"
            )
        branch = step.branch(answer)
        next_step = branch.to
        # A branch that goes on may name the disposition the case closes with (tpi-03's
        # "departure postponed"); the branch a case ends on always names its own outcome.
        outcome = branch.outcome if branch.to is None else (state.outcome or None)
        disposition = branch.outcome if branch.to is not None else None
    else:
        if answer is not None:
            raise WorkflowError(f"case {state.case_id}: step {step_id!r} is not a decision")
        next_step, disposition = step.next, None
        outcome = state.outcome or step.outcome
    record = StepRecord(
        step_id=step_id,
        started_at_ms=state.current_since_ms,
        completed_at_ms=now_ms,
        due_at_ms=state.current_due_ms,
        actor=actor,
        role=role,
        position=position,
        waited_on=step.waits_on,
        standard_s=step.time.deadline_seconds,
        answer=answer,
        data=data,
        documents=step.documents,
    )
    history = (*state.history, record)
    updates: dict[str, Any] = {"history": history, "current_step": next_step, "current_since_ms": now_ms}
    if next_step is None:
        updates.update(status="closed", closed_at_ms=now_ms, current_due_ms=None, outcome=outcome or "completed")
    else:
        updates["current_due_ms"] = _due(definition, next_step, now_ms, history, calendar)
        if disposition:
            updates["outcome"] = disposition
    return state.model_copy(update=updates)


def withdraw(state: CaseState, *, now_ms: int, reason: str) -> CaseState:
    """Close an open case before its end: an applicant withdraws, a caller hangs up. No step is
    recorded as done; the outcome says why."""
    if state.status != "open":
        raise WorkflowError(f"case {state.case_id} is closed")
    if not reason.strip():
        raise WorkflowError(f"case {state.case_id}: a withdrawal needs its reason")
    return state.model_copy(update={"status": "closed", "closed_at_ms": now_ms, "current_step": None,
                                    "current_due_ms": None, "outcome": f"withdrawn: {reason.strip()[:150]}"})


def effects_of(definition: WorkflowDefinition, record: StepRecord) -> tuple[Effect, ...]:
    """What completing *record*'s step with its answer does outside the case."""
    step = definition.step(record.step_id)
    return tuple(e for e in step.effects if not e.when or record.answer in e.when)


@dataclass(frozen=True)
class SpanResult:
    span_id: str
    started_at_ms: int
    due_at_ms: int
    completed_at_ms: int | None  # None while the span runs

    def within(self, now_ms: int) -> bool | None:
        """True/False once it is decided; None while it runs and is not yet late."""
        if self.completed_at_ms is not None:
            return self.completed_at_ms <= self.due_at_ms
        return False if now_ms > self.due_at_ms else None


def spans(definition: WorkflowDefinition, state: CaseState,
          calendar: WorkingCalendar = DEFAULT_CALENDAR) -> list[SpanResult]:
    """The case's multi-step standards that have started (their first step is done)."""
    results: list[SpanResult] = []
    for span in definition.spans:
        start = next((r for r in reversed(state.history) if r.step_id == span.from_step), None)
        if start is None:
            continue
        end = next((r for r in state.history if r.step_id == span.to_step
                    and r.completed_at_ms >= start.completed_at_ms), None)
        due = span.time.due_ms(start.completed_at_ms, calendar)
        assert due is not None  # the model refuses spans without a standard
        results.append(SpanResult(span.id, start.completed_at_ms, due, end.completed_at_ms if end else None))
    return results


def deadlines(definition: WorkflowDefinition, state: CaseState, *, now_ms: int) -> list[Deadline]:
    """The case clock: when the current step is due, and by how much it is late."""
    if state.status != "open" or state.current_step is None or state.current_due_ms is None:
        return []
    due = state.current_due_ms
    return [Deadline(state.current_step, due, max(0, now_ms - due))]


def produced_documents(definition: WorkflowDefinition, state: CaseState) -> list[tuple[str, StepRecord]]:
    """Every document the case has produced so far, with the step record that produced it."""
    return [(key, record) for record in state.history for key in record.documents]
