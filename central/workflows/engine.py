"""Running one case through its workflow: pure functions from (definition, state, act) to state.

A case records, for every step, who completed it, in which role, when the step became due and
when it was done, the SOP time standard it is measured against, the answer at a decision, the
data recorded and the documents it produced. That record is what the SOP asks for (autogate.md
§9: "for every step, the actor, the start and end time, the SOP time standard and the documents
produced") and what SLA compliance is measured from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from central.workflows.model import WorkflowDefinition


class WorkflowError(ValueError):
    """An act the workflow does not allow: wrong step, wrong role, missing data, unknown answer."""


class StepRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step_id: str
    started_at_ms: int
    completed_at_ms: int
    actor: str
    role: str
    standard_s: int | None
    answer: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    documents: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return (self.completed_at_ms - self.started_at_ms) / 1000

    @property
    def within_standard(self) -> bool | None:
        """None where the SOP sets no standard ("kondisional"): measured, never flagged."""
        if self.standard_s is None:
            return None
        return self.duration_s <= self.standard_s


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
    context: dict[str, Any] = Field(default_factory=dict)  # gate, traveler, watchlist entry ...
    history: tuple[StepRecord, ...] = ()
    outcome: str | None = None
    closed_at_ms: int | None = None


@dataclass(frozen=True)
class Deadline:
    step_id: str
    due_at_ms: int
    overdue_ms: int  # 0 while on time

    @property
    def is_overdue(self) -> bool:
        return self.overdue_ms > 0


def start_case(
    definition: WorkflowDefinition,
    *,
    case_id: str,
    now_ms: int,
    context: dict[str, Any] | None = None,
    start_at: str | None = None,
) -> CaseState:
    """Open a case. ``start_at`` enters mid-way: a gate hold enters the cekal SOP at step 5."""
    first = start_at or definition.start
    definition.step(first)  # raises on an unknown entry point
    return CaseState(
        case_id=case_id,
        workflow_id=definition.id,
        workflow_version=definition.version,
        opened_at_ms=now_ms,
        current_step=first,
        current_since_ms=now_ms,
        context=dict(context or {}),
    )


def complete_step(
    definition: WorkflowDefinition,
    state: CaseState,
    *,
    step_id: str,
    actor: str,
    role: str,
    now_ms: int,
    answer: str | None = None,
    data: dict[str, Any] | None = None,
) -> CaseState:
    """Record that *actor* completed *step_id*; return the case moved to its next step."""
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
    if role not in step.roles:
        raise WorkflowError(
            f"case {state.case_id}: step {step_id!r} is for {', '.join(step.roles)}, not {role}"
        )
    data = dict(data or {})
    missing = [name for name in step.required_fields if data.get(name) in (None, "")]
    if missing:
        raise WorkflowError(f"case {state.case_id}: step {step_id!r} needs {', '.join(missing)}")
    if step.is_decision:
        if answer not in step.branches:
            raise WorkflowError(
                f"case {state.case_id}: step {step_id!r} asks {step.question_en!r}; "
                f"answer one of {', '.join(step.branches)}"
            )
        next_step = step.branches[answer]
    else:
        if answer is not None:
            raise WorkflowError(f"case {state.case_id}: step {step_id!r} is not a decision")
        next_step = step.next
    record = StepRecord(
        step_id=step_id,
        started_at_ms=state.current_since_ms,
        completed_at_ms=now_ms,
        actor=actor,
        role=role,
        standard_s=step.time.deadline_seconds,
        answer=answer,
        data=data,
        documents=step.documents,
    )
    updates: dict[str, Any] = {
        "history": (*state.history, record),
        "current_step": next_step,
        "current_since_ms": now_ms,
    }
    if next_step is None:
        updates.update(status="closed", closed_at_ms=now_ms, outcome=step.outcome or answer or "completed")
    return state.model_copy(update=updates)


def deadlines(definition: WorkflowDefinition, state: CaseState, *, now_ms: int) -> list[Deadline]:
    """The case clock: when the current step is due, and by how much it is late."""
    if state.status != "open" or state.current_step is None:
        return []
    step = definition.step(state.current_step)
    limit = step.time.deadline_seconds
    if limit is None:
        return []
    due = state.current_since_ms + limit * 1000
    return [Deadline(step.id, due, max(0, now_ms - due))]


def produced_documents(definition: WorkflowDefinition, state: CaseState) -> list[tuple[str, StepRecord]]:
    """Every document the case has produced so far, with the step record that produced it."""
    return [(key, record) for record in state.history for key in record.documents]
