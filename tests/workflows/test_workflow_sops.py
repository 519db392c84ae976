"""Every SOP, driven through the engine from its start to each of its ends.

For each way a case can end (a terminal step, or a decision's answer that closes it), the test
finds the shortest path from the start, opens a case whose facts allow that path (arrival or
departure), and completes each step as a different officer holding one of the step's positions.
It checks the case closes with that end's outcome, that every step recorded the position it was
taken in and its outside party, and that no step can be taken by someone holding none of its
positions. Every approval is also tried by the person who did the step it approves: refused.
"""

from __future__ import annotations

from collections import deque

import pytest

from central.workflows import SeparationOfDuties, WorkflowError, complete_step, load_registry, start_case
from central.workflows.model import WorkflowDefinition

REGISTRY = load_registry()
T0 = 1_790_000_000_000
Edge = tuple[str, str | None]  # (step id, answer)


def _moves(definition: WorkflowDefinition, step_id: str) -> list[tuple[str | None, str | None]]:
    step = definition.step(step_id)
    return [(b.answer, b.to) for b in step.branches] if step.is_decision else [(None, step.next)]


def _shortest(definition: WorkflowDefinition, source: str, goal) -> list[Edge]:
    """Shortest list of (step, answer) from *source* whose last edge satisfies goal(step, answer, target)."""
    previous: dict[str, tuple[str, str | None] | None] = {source: None}
    queue = deque([source])
    while queue:
        current = queue.popleft()
        for answer, target in _moves(definition, current):
            if goal(current, answer, target):
                path: list[Edge] = [(current, answer)]
                node = current
                while previous[node] is not None:
                    node, a = previous[node]  # type: ignore[misc]
                    path.insert(0, (node, a))
                return path
            if target is not None and target not in previous:
                previous[target] = (current, answer)
                queue.append(target)
    raise AssertionError(f"{definition.id}: no path from {source}")


def paths_to_ends(definition: WorkflowDefinition) -> list[tuple[list[Edge], str]]:
    """For every way the case can end, and every branch that sets the case's disposition: the
    shortest run from the start through it to an end, with the outcome the case must close with."""
    targets: list[tuple[str, str | None]] = [(s, a) for s, a, _ in definition.ends()]
    targets += [(s.id, b.answer) for s in definition.steps for b in s.branches if b.outcome and b.to]
    results = []
    for step_id, answer in targets:
        head = [] if step_id == definition.start else _shortest(
            definition, definition.start, lambda _s, _a, t, goal=step_id: t == goal)
        edge_target = next(t for a, t in _moves(definition, step_id) if a == answer)
        tail = [] if edge_target is None else _shortest(definition, edge_target, lambda _s, _a, t: t is None)
        path = [*head, (step_id, answer), *tail]
        results.append((path, _expected_outcome(definition, path)))
    return results


def _expected_outcome(definition: WorkflowDefinition, path: list[Edge]) -> str:
    last_step, last_answer = path[-1]
    step = definition.step(last_step)
    if step.is_decision:
        return step.branch(last_answer).outcome or ""
    disposition = None
    for step_id, answer in path[:-1]:
        s = definition.step(step_id)
        if s.is_decision and s.branch(answer).outcome:
            disposition = s.branch(answer).outcome
    return disposition or step.outcome or "completed"


def _facts(definition: WorkflowDefinition, path: list[Edge]) -> dict[str, str]:
    facts = {name: "x" for name in definition.context_fields}
    facts.setdefault("direction", "departure")
    for step_id, answer in path:
        step = definition.step(step_id)
        if step.is_decision:
            facts.update(step.branch(answer).requires)
    return facts


def drive(definition: WorkflowDefinition, path: list[Edge]):
    case = start_case(definition, case_id="e2e", now_ms=T0, context=_facts(definition, path))
    for n, (step_id, answer) in enumerate(path):
        step = definition.step(step_id)
        assert case.current_step == step_id
        data = {name: "recorded" for name in step.required_fields}
        case = complete_step(definition, case, step_id=step_id, actor=f"officer-{n}", positions=[step.positions[-1]],
                             now_ms=T0 + (n + 1) * 60_000, answer=answer, data=data)
        record = case.history[-1]
        assert record.position == step.positions[-1] and record.waited_on == step.waits_on
    return case


CASES = [
    pytest.param(wid, path, outcome, id=f"{wid}:" + ">".join(f"{s}{'=' + a if a else ''}" for s, a in path if a)
                 + f">{path[-1][0]}")
    for wid, definition in sorted(REGISTRY.definitions.items())
    for path, outcome in paths_to_ends(definition)
]


def test_all_38_sops_have_a_curated_workflow() -> None:
    import json
    from pathlib import Path

    digest = Path(__file__).resolve().parents[3] / "shared" / "sop" / "sops.json"
    sops = {d.sop_id for d in REGISTRY.definitions.values() if d.curated}
    assert len(sops) == 38
    if digest.exists():
        assert sops == {s["id"] for s in json.loads(digest.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("workflow_id, path, outcome", CASES)
def test_every_sop_runs_from_its_start_to_each_end(workflow_id: str, path: list[Edge], outcome: str) -> None:
    definition = REGISTRY.get(workflow_id)
    case = drive(definition, path)
    assert case.status == "closed" and case.outcome == outcome
    assert [r.step_id for r in case.history] == [s for s, _ in path]


@pytest.mark.parametrize("workflow_id", sorted(REGISTRY.definitions))
def test_every_listed_outcome_is_an_end_of_the_workflow(workflow_id: str) -> None:
    definition = REGISTRY.get(workflow_id)
    reachable = {outcome for _, outcome in paths_to_ends(definition)}
    reachable |= {b.outcome for s in definition.steps for b in s.branches if b.outcome}
    assert set(definition.outcomes) <= reachable, set(definition.outcomes) - reachable


@pytest.mark.parametrize("workflow_id", sorted(REGISTRY.definitions))
def test_no_step_is_taken_without_one_of_its_positions(workflow_id: str) -> None:
    definition = REGISTRY.get(workflow_id)
    for step in definition.steps:
        case = start_case(definition, case_id="p", now_ms=T0, start_at=step.id, context={"direction": "departure"})
        others = [p for p in ("petugas_tpi", "kepala_kantor", "petugas_dokjal", "customer_service") if p not in step.positions]
        with pytest.raises(WorkflowError, match="is for"):
            complete_step(definition, case, step_id=step.id, actor="someone", positions=others, now_ms=T0,
                          answer=step.answers[0] if step.is_decision else None,
                          data={name: "x" for name in step.required_fields})


APPROVALS = [
    pytest.param(wid, step.id, approved, id=f"{wid}:{step.id}<-{approved}")
    for wid, definition in sorted(REGISTRY.definitions.items())
    for step in definition.steps
    for approved in step.approves
]


@pytest.mark.parametrize("workflow_id, step_id, approved_id", APPROVALS)
def test_whoever_did_a_step_cannot_approve_it(workflow_id: str, step_id: str, approved_id: str) -> None:
    """Separation of duties: the person who did the approved step, holding every position, is refused
    at the approval; someone else is not."""
    definition = REGISTRY.get(workflow_id)
    approving = definition.step(step_id)
    path = _shortest(definition, approved_id, lambda _s, _a, t: t == step_id)
    everything = {p for s, _ in path for p in definition.step(s).positions} | set(approving.positions)
    case = start_case(definition, case_id="sod", now_ms=T0, start_at=approved_id, context={"direction": "departure"})
    for n, (sid, answer) in enumerate(path):
        step = definition.step(sid)
        case = complete_step(definition, case, step_id=sid, actor="same-person" if n == 0 else f"other-{n}",
                             positions=everything, now_ms=T0 + n, answer=answer,
                             data={name: "x" for name in step.required_fields})
    kwargs = dict(step_id=step_id, positions=everything, now_ms=T0 + 1000,
                  answer=approving.answers[0] if approving.is_decision else None,
                  data={n: "x" for n in approving.required_fields})
    with pytest.raises(SeparationOfDuties):
        complete_step(definition, case, actor="same-person", **kwargs)
    assert complete_step(definition, case, actor="someone-else", **kwargs).history[-1].actor == "someone-else"
