"""SOP workflows as data: one engine runs every case (cekal hold, Interpol hit, refusal of entry...).

A workflow definition (JSON under ``definitions/``) lists an SOP's steps with their actor role,
time standard, decision branches and the documents each step produces. The engine is pure
(sans-IO, STYLE.md house rule 3): it takes a definition, a case's state, who acts and when,
and returns the new state; storage, HTTP and clocks are the caller's.
"""

from central.workflows.engine import (
    CaseState,
    Deadline,
    StepRecord,
    WorkflowError,
    complete_step,
    deadlines,
    start_case,
)
from central.workflows.model import DocumentSpec, Step, TimeStandard, WorkflowDefinition
from central.workflows.registry import WorkflowRegistry, load_registry

__all__ = [
    "CaseState",
    "Deadline",
    "DocumentSpec",
    "Step",
    "StepRecord",
    "TimeStandard",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowRegistry",
    "complete_step",
    "deadlines",
    "load_registry",
    "start_case",
]
