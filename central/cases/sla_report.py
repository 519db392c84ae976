"""Service-standard figures (standar pelayanan), pure: completed steps and cases in, figures out.

Per SOP and per step: how many were done, the share done within the SOP's standard (steps with no
standard, "kondisional", are counted but not judged), the median and 95th percentile durations,
and how many are open now and overdue (the backlog). Steps that wait on an outside party (the
Regional Office, the Directorate General, an airline ...) are reported apart from the office's own
time: the office does not control them (backoffice.md §0.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepFact:
    workflow_id: str
    step_id: str
    duration_s: float
    within: bool | None  # None: no standard
    waited_on: str | None


@dataclass(frozen=True)
class CaseFact:
    workflow_id: str
    status: str  # open / closed
    duration_s: float | None  # opened to closed; None while open
    overdue: bool  # open and its current step late


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the value a share q of the observations do not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


@dataclass
class Figures:
    count: int = 0
    judged: int = 0  # with a standard
    within: int = 0
    durations: list[float] = field(default_factory=list)

    def add(self, duration_s: float, within: bool | None) -> None:
        self.count += 1
        self.durations.append(duration_s)
        if within is not None:
            self.judged += 1
            self.within += int(within)

    @property
    def share_within(self) -> float | None:
        return self.within / self.judged if self.judged else None

    @property
    def median_s(self) -> float | None:
        return percentile(self.durations, 0.5)

    @property
    def p95_s(self) -> float | None:
        return percentile(self.durations, 0.95)


@dataclass
class StepRow:
    workflow_id: str
    step_id: str
    waited_on: str | None
    figures: Figures


@dataclass
class SopRow:
    workflow_id: str
    office: Figures  # the office's own steps
    waits: Figures  # steps waiting on outside parties
    cases: Figures  # closed cases, opened to closed
    open_cases: int = 0
    overdue_cases: int = 0


def report(steps: Iterable[StepFact], cases: Iterable[CaseFact]) -> tuple[list[SopRow], list[StepRow]]:
    sops: dict[str, SopRow] = {}
    per_step: dict[tuple[str, str], StepRow] = {}

    def sop(workflow_id: str) -> SopRow:
        return sops.setdefault(workflow_id, SopRow(workflow_id, Figures(), Figures(), Figures()))

    for fact in steps:
        row = sop(fact.workflow_id)
        (row.waits if fact.waited_on else row.office).add(fact.duration_s, fact.within)
        key = (fact.workflow_id, fact.step_id)
        step_row = per_step.setdefault(key, StepRow(fact.workflow_id, fact.step_id, fact.waited_on, Figures()))
        step_row.figures.add(fact.duration_s, fact.within)
    for case in cases:
        row = sop(case.workflow_id)
        if case.status == "open":
            row.open_cases += 1
            row.overdue_cases += int(case.overdue)
        elif case.duration_s is not None:
            row.cases.add(case.duration_s, None)
    return sorted(sops.values(), key=lambda r: r.workflow_id), sorted(per_step.values(), key=lambda r: (r.workflow_id, r.step_id))
