"""SOP workflows as data: one engine runs every case, from a cekal hold to a passport application.

A workflow definition (JSON under ``definitions/``, families sharing fragments) lists an SOP's
steps with the positions that take them, their time standards, decision branches, inputs,
outputs and documents, the outside parties they wait on and what they lead to. The engine is
pure (sans-IO, STYLE.md house rule 3): it takes a definition, a case's state, who acts holding
which positions and when, and returns the new state; storage, HTTP and clocks are the caller's.
"""

from central.workflows.calendar import WorkingCalendar
from central.workflows.engine import (
    CaseState,
    Deadline,
    SeparationOfDuties,
    StepRecord,
    WorkflowError,
    complete_step,
    deadlines,
    effects_of,
    offered_answers,
    start_case,
)
from central.workflows.model import Branch, DocumentSpec, Effect, Step, TimeStandard, WorkflowDefinition
from central.workflows.registry import WorkflowRegistry, load_registry

__all__ = [
    "Branch",
    "CaseState",
    "Deadline",
    "DocumentSpec",
    "Effect",
    "SeparationOfDuties",
    "Step",
    "StepRecord",
    "TimeStandard",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowRegistry",
    "WorkingCalendar",
    "complete_step",
    "deadlines",
    "effects_of",
    "load_registry",
    "offered_answers",
    "start_case",
]
