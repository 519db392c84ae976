"""The SOP workflow engine: the cekal case end to end, the rules it enforces, every definition's graph."""

from __future__ import annotations

from datetime import date

import pytest

from central.workflows import WorkflowError, complete_step, deadlines, load_registry, start_case
from central.workflows.engine import produced_documents
from central.workflows.fees import OverstayTariff, assess_overstay
from central.workflows.model import WorkflowDefinition

REGISTRY = load_registry()
T0 = 1_790_000_000_000
MIN = 60_000


def cekal():
    return REGISTRY.get("tpi-03-cekal")


def test_every_sop_has_a_workflow_and_the_escalations_are_curated() -> None:
    assert len(REGISTRY.definitions) == 38
    for sop in ("tpi-03-cekal-handling", "tpi-04-interpol-hit-alert", "tpi-05-refusal-of-entry",
                "tpi-06-departure-postponement", "tpi-07-overstay-departure-60-days", "tpi-09-carrier-fine",
                "tpi-08-autogate", "it-05-cctv-face-recognition"):
        assert REGISTRY.by_sop(sop).curated, sop


def test_gate_hold_enters_cekal_at_step_5_and_wni_branch_produces_the_sop_documents() -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, context={"gate": "gate-01"}, start_at="report")
    assert deadlines(wf, case, now_ms=T0)[0].due_at_ms == T0 + 5 * MIN
    case = complete_step(wf, case, step_id="report", actor="sup1", role="supervisor", now_ms=T0 + 3 * MIN)
    case = complete_step(wf, case, step_id="secure", actor="sup1", role="supervisor", now_ms=T0 + 9 * MIN)
    case = complete_step(wf, case, step_id="verify", actor="sup1", role="supervisor", now_ms=T0 + 20 * MIN,
                         answer="wni", data={"agency_contacted": "KPK"})
    case = complete_step(wf, case, step_id="wni_postpone", actor="sup1", role="supervisor", now_ms=T0 + 25 * MIN,
                         data={"retained_document_number": "X1234567"})
    case = complete_step(wf, case, step_id="coordinate", actor="sup1", role="supervisor", now_ms=T0 + 26 * MIN)
    case = complete_step(wf, case, step_id="hand_over", actor="sup1", role="supervisor", now_ms=T0 + 30 * MIN,
                         data={"received_by": "Inteldakim officer"})
    case = complete_step(wf, case, step_id="report_lk", actor="sup1", role="supervisor", now_ms=T0 + 40 * MIN,
                         data={"chronology": "held at gate-01"})
    case = complete_step(wf, case, step_id="memo_head", actor="kabid", role="supervisor", now_ms=T0 + 50 * MIN)
    assert case.status == "closed" and case.closed_at_ms == T0 + 50 * MIN
    assert [key for key, _ in produced_documents(wf, case)] == ["stp", "bast", "lk", "nodin_kabid", "nodin_kakanim"]
    assert wf.document("stp").copies == 2
    report, secure = case.history[0], case.history[1]
    assert report.within_standard is True  # 3 min against 5 min
    assert secure.within_standard is False  # 6 min against 5 min: flagged
    assert case.history[2].within_standard is None  # kondisional: measured, never flagged


def test_the_case_clock_reports_overdue_steps() -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, start_at="report")
    [deadline] = deadlines(wf, case, now_ms=T0 + 7 * MIN)
    assert deadline.is_overdue and deadline.overdue_ms == 2 * MIN


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(step_id="secure", role="supervisor"), "not due"),
        (dict(step_id="report", role="officer"), "is for supervisor"),
        (dict(step_id="report", role="supervisor", answer="wni"), "not a decision"),
    ],
)
def test_the_engine_refuses_what_the_sop_does_not_allow(kwargs, message) -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, start_at="report")
    with pytest.raises(WorkflowError, match=message):
        complete_step(wf, case, actor="x", now_ms=T0, **kwargs)


def test_decision_needs_a_known_answer_and_required_fields() -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, start_at="verify")
    with pytest.raises(WorkflowError, match="agency_contacted"):
        complete_step(wf, case, step_id="verify", actor="s", role="supervisor", now_ms=T0, answer="wni")
    with pytest.raises(WorkflowError, match="answer one of"):
        complete_step(wf, case, step_id="verify", actor="s", role="supervisor", now_ms=T0, answer="maybe",
                      data={"agency_contacted": "x"})


def test_closed_case_accepts_nothing_more() -> None:
    wf = REGISTRY.get("it-05-cctv-alarm")
    case = start_case(wf, case_id="c", now_ms=T0, start_at="kasi_check")
    case = complete_step(wf, case, step_id="kasi_check", actor="k", role="supervisor", now_ms=T0, answer="not_identical")
    assert case.status == "closed" and case.outcome == "not_identical"
    with pytest.raises(WorkflowError, match="closed"):
        complete_step(wf, case, step_id="kasi_check", actor="k", role="supervisor", now_ms=T0, answer="identical")


def test_overstay_exit_mark_only_after_payment() -> None:
    wf = REGISTRY.get("tpi-07-overstay")
    order = [s.id for s in wf.steps]
    assert order.index("payment") < order.index("exit_stamp")
    case = start_case(wf, case_id="o1", now_ms=T0, start_at="compute")
    with pytest.raises(WorkflowError, match="not due"):
        complete_step(wf, case, step_id="exit_stamp", actor="o", role="officer", now_ms=T0)


@pytest.mark.parametrize(
    "expiry, departure, days, within",
    [(date(2026, 1, 10), date(2026, 1, 10), 0, True), (date(2026, 1, 10), date(2026, 1, 11), 1, True),
     (date(2026, 1, 10), date(2026, 3, 11), 60, True), (date(2026, 1, 10), date(2026, 3, 12), 61, False)],
)
def test_overstay_days_and_fee(expiry, departure, days, within) -> None:
    result = assess_overstay(expiry, departure, OverstayTariff(idr_per_day=1_000_000))
    assert (result.overstay_days, result.within_tpi_07) == (days, within)
    assert result.fee_idr == days * 1_000_000 and "28 Tahun 2019" in result.tariff_source


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda d: d["steps"][0].__setitem__("next", "nowhere"), "unknown step"),
        (lambda d: d.__setitem__("start", "nowhere"), "start step"),
        (lambda d: d["steps"].append({**d["steps"][0], "id": "orphan", "next": None}), "unreachable"),
        (lambda d: d["steps"][0].__setitem__("roles", []), "no role"),
        (lambda d: d["steps"][0].__setitem__("documents", ["nope"]), "unknown documents"),
    ],
)
def test_bad_definitions_fail_at_load(broken, message) -> None:
    data = cekal().model_dump(mode="json")
    broken(data)
    with pytest.raises(ValueError, match=message):
        WorkflowDefinition.model_validate(data)


@pytest.mark.parametrize("workflow_id", sorted(REGISTRY.definitions))
def test_every_definition_can_run_to_an_end(workflow_id: str) -> None:
    """Walk each workflow taking the first branch, as the role each step names: it must close."""
    wf = REGISTRY.get(workflow_id)
    case = start_case(wf, case_id="walk", now_ms=T0)
    for n in range(200):
        if case.status == "closed":
            break
        step = wf.step(case.current_step)
        data = {name: "x" for name in step.required_fields}
        answer = next(iter(step.branches)) if step.is_decision else None
        case = complete_step(wf, case, step_id=step.id, actor="a", role=step.roles[0], now_ms=T0 + n * 1000,
                             answer=answer, data=data)
    assert case.status == "closed"
