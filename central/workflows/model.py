"""The shape of a workflow definition, validated when it is loaded (a bad SOP file fails at start)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

StepId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=48)]
# The application roles an SOP actor maps to (central/auth roles).
AppRole = Literal["admin", "supervisor", "cctv_operator", "officer", "backoffice", "report_only"]


class _Def(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeStandard(_Def):
    """An SOP time standard: a fixed number of seconds, a range, or none ("kondisional")."""

    seconds: Annotated[int, Field(ge=1)] | None = None
    max_seconds: Annotated[int, Field(ge=1)] | None = None  # upper bound of a printed range
    as_printed: str = ""  # e.g. "5 Menit", "30 Menit - 60 Menit", "Kondisional"

    @property
    def deadline_seconds(self) -> int | None:
        """The limit a step is measured against: the top of a range, else the fixed value."""
        return self.max_seconds or self.seconds


class DocumentSpec(_Def):
    """A document an SOP step produces (LK, Nodin, STP, BAST ...)."""

    key: StepId
    title_en: str
    title_id: str
    copies: Annotated[int, Field(ge=1, le=10)] = 1
    fields: tuple[str, ...] = ()  # what the officer fills in; the case context fills the rest


class Step(_Def):
    """One SOP step: who does what, by when, and where the case goes next."""

    id: StepId
    sop_no: str = ""  # the step number as printed in the SOP (may be empty for unnumbered rows)
    actor_en: str
    actor_id: str = ""  # the SOP's Indonesian title of the actor
    roles: tuple[AppRole, ...]  # who may complete this step in the application
    action_en: str
    time: TimeStandard = TimeStandard()
    documents: tuple[StepId, ...] = ()  # keys into WorkflowDefinition.documents
    required_fields: tuple[str, ...] = ()  # data the actor must record to complete the step
    # A decision step names its question and maps each answer to the next step id;
    # a plain step names `next` (None ends the case).
    question_en: str | None = None
    branches: dict[str, StepId | None] = Field(default_factory=dict)
    next: StepId | None = None
    outcome: str | None = None  # set when finishing here closes the case with this outcome

    @property
    def is_decision(self) -> bool:
        return bool(self.branches)


class WorkflowDefinition(_Def):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    version: Annotated[int, Field(ge=1)] = 1
    sop_id: str  # id in the SOP digest (shared/sop/sops.json), e.g. "tpi-03-cekal-handling"
    title_en: str
    title_id: str
    host: Literal["escalation", "backoffice", "edge", "cctv", "it"] = "escalation"
    curated: bool = False  # True: branches and roles reviewed by hand; False: generated draft
    start: StepId
    steps: tuple[Step, ...]
    documents: tuple[DocumentSpec, ...] = ()
    outcomes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # decisions on the SOP's open points, with the reason

    @model_validator(mode="after")
    def _graph_is_sound(self) -> "WorkflowDefinition":
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.id}: duplicate step ids")
        known = set(ids)
        doc_keys = {d.key for d in self.documents}
        if self.start not in known:
            raise ValueError(f"{self.id}: start step {self.start!r} does not exist")
        for step in self.steps:
            targets = list(step.branches.values()) if step.is_decision else [step.next]
            for target in targets:
                if target is not None and target not in known:
                    raise ValueError(f"{self.id}: step {step.id!r} leads to unknown step {target!r}")
            if step.is_decision and step.next is not None:
                raise ValueError(f"{self.id}: decision step {step.id!r} must not also have `next`")
            missing = set(step.documents) - doc_keys
            if missing:
                raise ValueError(f"{self.id}: step {step.id!r} names unknown documents {sorted(missing)}")
            if not step.roles:
                raise ValueError(f"{self.id}: step {step.id!r} has no role that may complete it")
        # Every step reachable from the start, and every step can reach an end.
        by_id = {s.id: s for s in self.steps}
        reachable, todo = set(), [self.start]
        while todo:
            current = todo.pop()
            if current in reachable:
                continue
            reachable.add(current)
            step = by_id[current]
            todo += [t for t in (step.branches.values() if step.is_decision else [step.next]) if t]
        unreachable = known - reachable
        if unreachable:
            raise ValueError(f"{self.id}: steps unreachable from {self.start!r}: {sorted(unreachable)}")
        ends = {s.id for s in self.steps if (None in s.branches.values()) or (not s.is_decision and s.next is None)}
        if not ends:
            raise ValueError(f"{self.id}: no step ends the case")
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"{self.id}: no step {step_id!r}")

    def document(self, key: str) -> DocumentSpec:
        for document in self.documents:
            if document.key == key:
                return document
        raise KeyError(f"{self.id}: no document {key!r}")
