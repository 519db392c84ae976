"""The shape of a workflow definition, validated when it is loaded (a bad SOP file fails at start).

A definition is one SOP: its steps (who, what, with which inputs and outputs, by when), the
decisions with their branches, the documents it produces, the outside parties it waits on and
the cases or records a step leads to. Families of SOPs share steps through fragments
(``definitions/fragments``), resolved by :mod:`central.workflows.registry` before this model
validates the result.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from central.workflows import positions as pos
from central.workflows.calendar import WorkingCalendar

StepId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=48)]
Answer = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=40)]
PositionKey = Annotated[str, Field(min_length=2, max_length=40)]

_UNITS = ("seconds", "minutes", "hours", "days", "working_days")
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}


class _Def(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeStandard(_Def):
    """An SOP time standard (standar waktu) in the unit the SOP prints, or none ("kondisional").

    Exactly one of ``seconds``, ``minutes``, ``hours``, ``days`` or ``working_days`` is set, or
    none. ``upto`` is the top of a printed range ("30 Menit - 60 Menit"), in the same unit: the
    step is measured against it. ``within`` names an earlier step whose deadline this step shares:
    one standard the SOP prints for what the case records as two steps (tpi-05's decision and its
    recording: 15 minutes for both).
    """

    seconds: Annotated[int, Field(ge=1)] | None = None
    minutes: Annotated[int, Field(ge=1)] | None = None
    hours: Annotated[int, Field(ge=1)] | None = None
    days: Annotated[int, Field(ge=1)] | None = None
    working_days: Annotated[int, Field(ge=1)] | None = None
    upto: Annotated[int, Field(ge=1)] | None = None
    within: StepId | None = None
    as_printed: str = ""  # e.g. "5 Menit", "30 Menit - 60 Menit", "Kondisional", "1 Hari"

    @model_validator(mode="after")
    def _one_unit(self) -> TimeStandard:
        given = [u for u in _UNITS if getattr(self, u) is not None]
        if len(given) > 1:
            raise ValueError(f"a time standard has one unit, got {', '.join(given)}")
        if self.upto is not None and (not given or self.upto < (self.amount or 0)):
            raise ValueError("upto needs a unit and must not be below the lower bound")
        if self.within is not None and given:
            raise ValueError("a step that shares another step's deadline has no standard of its own")
        return self

    @property
    def unit(self) -> str | None:
        return next((u for u in _UNITS if getattr(self, u) is not None), None)

    @property
    def amount(self) -> int | None:
        unit = self.unit
        return getattr(self, unit) if unit else None

    @property
    def limit(self) -> int | None:
        """The amount the step is measured against: the top of a range, else the fixed value."""
        return self.upto or self.amount

    @property
    def is_conditional(self) -> bool:
        return self.unit is None and self.within is None

    @property
    def deadline_seconds(self) -> int | None:
        """The nominal standard in seconds (a working day counts as a day); None when kondisional.

        The due time itself comes from :meth:`due_ms`, which skips weekends and holidays."""
        unit, limit = self.unit, self.limit
        if unit is None or limit is None:
            return None
        return limit * _UNIT_SECONDS.get(unit, 86_400)

    def due_ms(self, start_ms: int, calendar: WorkingCalendar) -> int | None:
        unit, limit = self.unit, self.limit
        if unit is None or limit is None:
            return None
        if unit == "working_days":
            return calendar.due_ms(start_ms, working_days=limit)
        if unit == "days":
            return calendar.due_ms(start_ms, days=limit)
        return calendar.due_ms(start_ms, seconds=limit * _UNIT_SECONDS[unit])


class DocumentSpec(_Def):
    """A document an SOP step produces (LK, Nodin, STP, BAST, SK, BAP ...)."""

    key: StepId
    title_en: str
    title_id: str
    copies: Annotated[int, Field(ge=1, le=10)] = 1
    fields: tuple[str, ...] = ()  # what the officer fills in; the case context fills the rest


class Branch(_Def):
    """One answer to a decision: where the case goes, and the outcome when it ends there."""

    answer: Answer
    to: StepId | None
    label_en: str
    label_id: str = ""
    # The case's outcome when ``to`` is None; for a branch that goes on, the disposition the case
    # closes with ("departure postponed") unless it later ends on a branch of its own.
    outcome: str | None = None
    # Facts of the case this answer needs (``{"direction": "departure"}``): a citizen's departure
    # cannot be postponed at an arrival gate, so that branch is not offered there.
    requires: dict[str, str] = Field(default_factory=dict)


EffectKind = Literal[
    "open_case",  # a linked case on another workflow (int-02 -> int-03, gate-referral -> tpi-03)
    "record_crossing",  # the entry/exit mark the counter gives (perlintasan)
    "enrol",  # the captured biometrics become the enrolment gates verify against (doc-01)
    "propose_watchlist",  # a proposed entry ban (usul penangkalan), pending the Directorate General
    "notify_applicant",  # a WhatsApp/SMS message to the applicant (it-06b), e.g. "passport ready"
]


class Effect(_Def):
    """Something completing a step does outside the case (done by the case service)."""

    kind: EffectKind
    when: tuple[Answer, ...] = ()  # only for these answers; empty: always
    workflow: str | None = None  # open_case: the workflow id
    start_at: StepId | None = None  # open_case: the step the new case starts at
    relation: str = ""  # how the two are linked, in words ("detainee release", "deportation")
    message_en: str = ""  # notify_applicant
    message_id: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Effect:
        if self.kind == "open_case" and not self.workflow:
            raise ValueError("an open_case effect names its workflow")
        if self.kind == "notify_applicant" and not (self.message_en and self.message_id):
            raise ValueError("a notify_applicant effect has its message in English and Indonesian")
        return self


class Step(_Def):
    """One SOP step: who does what, with what, by when, and where the case goes next."""

    id: StepId
    sop_no: str = ""  # the step number as printed in the SOP (may be empty for unnumbered rows)
    actor_en: str
    actor_id: str = ""  # the SOP's Indonesian title of the actor
    positions: tuple[PositionKey, ...]  # who may take this step
    action_en: str
    action_id: str = ""
    inputs: tuple[str, ...] = ()  # kelengkapan
    outputs: tuple[str, ...] = ()  # output
    time: TimeStandard = TimeStandard()
    waits_on: PositionKey | None = None  # an outside party whose reply this step records
    approves: tuple[StepId, ...] = ()  # separation of duties: whoever did these may not take this one
    documents: tuple[StepId, ...] = ()  # keys into WorkflowDefinition.documents
    required_fields: tuple[str, ...] = ()  # data the actor must record to complete the step
    fields: tuple[str, ...] = ()  # data the actor may record
    requires_biometrics: bool = False  # doc-01: face and fingerprint captured before completing
    question_en: str | None = None
    question_id: str | None = None
    branches: tuple[Branch, ...] = ()
    next: StepId | None = None  # a plain step's next step; None ends the case
    outcome: str | None = None  # a plain step that ends the case: its outcome
    effects: tuple[Effect, ...] = ()
    note: str = ""  # what the SOP leaves open here, and what was decided

    @property
    def is_decision(self) -> bool:
        return bool(self.branches)

    @property
    def answers(self) -> tuple[str, ...]:
        return tuple(b.answer for b in self.branches)

    def branch(self, answer: str) -> Branch:
        for branch in self.branches:
            if branch.answer == answer:
                return branch
        raise KeyError(f"step {self.id!r} has no answer {answer!r}")

    @property
    def targets(self) -> tuple[str | None, ...]:
        return tuple(b.to for b in self.branches) if self.is_decision else (self.next,)

    @property
    def is_wait(self) -> bool:
        return self.waits_on is not None

    def input_fields(self, definition: WorkflowDefinition) -> list[str]:
        """What the form for this step asks: required fields first, then optional and document fields."""
        names = list(self.required_fields)
        for name in self.fields:
            if name not in names:
                names.append(name)
        for key in self.documents:
            names += [f for f in definition.document(key).fields if f not in names]
        return names


class Span(_Def):
    """A standard over several steps: from one step's completion to another's (int-01: the passport
    can be collected 3 working days after payment, whatever each production step takes)."""

    id: StepId
    label_en: str
    label_id: str = ""
    from_step: StepId  # the clock starts when this step completes
    to_step: StepId  # and stops when this one completes
    time: TimeStandard


Host = Literal["escalation", "backoffice", "edge", "cctv", "it"]


class WorkflowDefinition(_Def):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    version: Annotated[int, Field(ge=1)] = 1
    sop_id: str  # id in the SOP digest (shared/sop/sops.json), e.g. "tpi-03-cekal-handling"
    title_en: str
    title_id: str
    host: Host = "escalation"
    curated: bool = False  # True: curated by hand from the SOP text; drafts do not run
    family: str = ""  # the fragment(s) it shares steps with, for people reading the list
    # Positions that may open a case by hand; empty: only code opens it (a gate, CCTV, a link).
    openers: tuple[PositionKey, ...] = ()
    start: StepId
    # Named ways in other than ``start`` (a gate hold enters tpi-03 at step 5).
    entries: dict[str, StepId] = Field(default_factory=dict)
    # Applicant-facing cases get an application number (nomor permohonan) with this prefix,
    # which the status page, the WhatsApp/SMS gateway and the receptionist answer for.
    # Workflows a person may open from a case of this one, linked to it (int-02 -> int-03, int-04).
    follow_ups: tuple[str, ...] = ()
    # Only holders of the positions that act in it may see such a case, and every read is audited
    # (int-05: confidentiality is one of the review criteria).
    confidential: bool = False
    # Facts a case must be opened with, because branches depend on them (``direction``).
    context_fields: tuple[str, ...] = ()
    reference_prefix: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,8}$")] | None = None
    steps: tuple[Step, ...]
    documents: tuple[DocumentSpec, ...] = ()
    spans: tuple[Span, ...] = ()
    outcomes: tuple[str, ...] = ()
    related_sops: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # decisions on the SOP's open points, with the reason

    @model_validator(mode="after")
    def _graph_is_sound(self) -> WorkflowDefinition:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"{self.id}: duplicate step ids {dupes}")
        known = set(ids)
        doc_keys = {d.key for d in self.documents}
        if len(doc_keys) != len(self.documents):
            raise ValueError(f"{self.id}: duplicate document keys")
        if self.start not in known:
            raise ValueError(f"{self.id}: start step {self.start!r} does not exist")
        for name, entry in self.entries.items():
            if entry not in known:
                raise ValueError(f"{self.id}: entry {name!r} names unknown step {entry!r}")
        for key in self.openers:
            self._check_position(key, "openers")
        for step in self.steps:
            self._check_step(step, known, doc_keys)
        for span in self.spans:
            if span.from_step not in known or span.to_step not in known:
                raise ValueError(f"{self.id}: span {span.id!r} names unknown steps")
            if span.time.is_conditional or span.time.within:
                raise ValueError(f"{self.id}: span {span.id!r} needs a standard of its own")
        self._check_reachable(known)
        return self

    def _check_position(self, key: str, where: str) -> None:
        spec = pos.BY_KEY.get(key)
        if spec is None:
            raise ValueError(f"{self.id}: {where} names unknown position {key!r}")
        if spec.external:
            raise ValueError(f"{self.id}: {where}: {key!r} is an outside party; use waits_on")

    def _check_step(self, step: Step, known: set[str], doc_keys: set[str]) -> None:
        where = f"{self.id}: step {step.id!r}"
        if not step.positions:
            raise ValueError(f"{where} has no position that may take it")
        for key in step.positions:
            self._check_position(key, f"step {step.id!r}")
        if step.waits_on is not None and step.waits_on not in pos.EXTERNAL:
            raise ValueError(f"{where} waits on {step.waits_on!r}, which is not an outside party")
        for target in step.targets:
            if target is not None and target not in known:
                raise ValueError(f"{where} leads to unknown step {target!r}")
        if step.is_decision:
            if step.next is not None or step.outcome is not None:
                raise ValueError(f"{where}: a decision step has branches, not `next` or `outcome`")
            if len(set(step.answers)) != len(step.answers):
                raise ValueError(f"{where}: duplicate answers")
            if not step.question_en:
                raise ValueError(f"{where}: a decision states its question")
            for branch in step.branches:
                if branch.to is None and not branch.outcome:
                    raise ValueError(f"{where}: answer {branch.answer!r} ends the case without an outcome")
        elif step.next is None and not step.outcome:
            raise ValueError(f"{where} ends the case without an outcome")
        missing = set(step.documents) - doc_keys
        if missing:
            raise ValueError(f"{where} names unknown documents {sorted(missing)}")
        for other in (*step.approves, *((step.time.within,) if step.time.within else ())):
            if other not in known or other == step.id:
                raise ValueError(f"{where} refers to unknown step {other!r}")
        for effect in step.effects:
            unknown = set(effect.when) - set(step.answers)
            if unknown:
                raise ValueError(f"{where}: effect {effect.kind} for unknown answers {sorted(unknown)}")

    def _check_reachable(self, known: set[str]) -> None:
        # Every step reachable from the start or an entry, and every step can reach an end.
        by_id = {s.id: s for s in self.steps}
        reachable, todo = set(), [self.start, *self.entries.values()]
        while todo:
            current = todo.pop()
            if current in reachable:
                continue
            reachable.add(current)
            todo += [t for t in by_id[current].targets if t]
        unreachable = known - reachable
        if unreachable:
            raise ValueError(f"{self.id}: steps unreachable from {self.start!r}: {sorted(unreachable)}")
        ending = {s.id for s in self.steps if None in s.targets}
        changed = True
        while changed:
            changed = False
            for step in self.steps:
                if step.id not in ending and any(t in ending for t in step.targets if t):
                    ending.add(step.id)
                    changed = True
        trapped = known - ending
        if trapped:
            raise ValueError(f"{self.id}: steps with no way to an end: {sorted(trapped)}")

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

    @property
    def positions(self) -> tuple[str, ...]:
        """Every position that takes a step, in the order they first act."""
        seen: list[str] = []
        for step in self.steps:
            for key in step.positions:
                if key not in seen:
                    seen.append(key)
        return tuple(seen)

    @property
    def external_parties(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.waits_on for s in self.steps if s.waits_on))

    def ends(self) -> list[tuple[str, str | None, str]]:
        """(step, answer, outcome) for every way the case can end."""
        result: list[tuple[str, str | None, str]] = []
        for step in self.steps:
            if step.is_decision:
                result += [(step.id, b.answer, b.outcome or b.answer) for b in step.branches if b.to is None]
            elif step.next is None:
                result.append((step.id, None, step.outcome or "completed"))
        return result
