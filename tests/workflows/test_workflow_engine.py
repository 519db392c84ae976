"""The SOP workflow engine: the rules it enforces, its clocks, and what definitions may not say."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from central.workflows import (
    SeparationOfDuties,
    WorkflowError,
    WorkingCalendar,
    complete_step,
    deadlines,
    effects_of,
    load_registry,
    offered_answers,
    start_case,
)
from central.workflows.calendar import WIB
from central.workflows.engine import produced_documents, spans
from central.workflows.fees import OverstayTariff, assess_overstay
from central.workflows.model import WorkflowDefinition
from central.workflows.registry import DefinitionError, load_fragments, resolve

REGISTRY = load_registry()
T0 = 1_790_000_000_000
MIN = 60_000
SUP = ["supervisor_tpi"]


def wib_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=WIB).timestamp() * 1000)


def cekal():
    return REGISTRY.get("tpi-03-cekal")


def test_gate_hold_enters_cekal_at_step_5_and_the_wni_branch_produces_the_sop_documents() -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, context={"direction": "departure"}, start_at="gate_hold")
    assert case.current_step == "report" and deadlines(wf, case, now_ms=T0)[0].due_at_ms == T0 + 5 * MIN
    for minute, step, answer, data in [
        (3, "report", None, {}), (9, "secure", None, {}),
        (20, "verify", "wni", {"agency_contacted": "KPK"}),
        (25, "wni_postpone", None, {"retained_document_number": "X1234567"}),
        (26, "coordinate", None, {}), (30, "hand_over", None, {"received_by": "Inteldakim officer"}),
        (40, "report_lk", None, {"chronology": "held at gate-01"}),
    ]:
        case = complete_step(wf, case, step_id=step, actor="sup1", positions=SUP, now_ms=T0 + minute * MIN,
                             answer=answer, data=data)
    case = complete_step(wf, case, step_id="memo_head", actor="kabid", positions=["kabid_tpi"], now_ms=T0 + 50 * MIN,
                         data={"summary": "postponed"})
    assert case.status == "closed" and case.outcome == "departure postponed, travel document retained (STP)"
    assert [key for key, _ in produced_documents(wf, case)] == ["stp", "bast", "lk", "nodin_kabid", "nodin_kakanim"]
    report, secure, verify = case.history[:3]
    assert report.within_standard is True  # 3 min against 5 min
    assert secure.within_standard is False  # 6 min against 5 min: flagged
    assert verify.within_standard is None and verify.waited_on == "requesting_agency"  # kondisional, an outside party
    assert case.history[-1].position == "kabid_tpi"


def test_the_kabid_memo_needs_the_kabid_and_not_the_author_of_the_incident_report() -> None:
    """Item 7: the supervisor who wrote the LK may not also write the Kabid's memo to the Head of Office."""
    wf = cekal()
    case = start_case(wf, case_id="c", now_ms=T0, start_at="report_lk", context={"direction": "departure"})
    case = complete_step(wf, case, step_id="report_lk", actor="sup1", positions=["supervisor_tpi", "kabid_tpi"],
                         now_ms=T0, data={"chronology": "x"})
    with pytest.raises(WorkflowError, match="is for kabid_tpi"):
        complete_step(wf, case, step_id="memo_head", actor="sup2", positions=SUP, now_ms=T0, data={"summary": "x"})
    with pytest.raises(SeparationOfDuties, match="sup1 did step 'report_lk'"):
        complete_step(wf, case, step_id="memo_head", actor="sup1", positions=["supervisor_tpi", "kabid_tpi"], now_ms=T0,
                      data={"summary": "x"})


@pytest.mark.parametrize("direction, offered", [
    ("departure", ("wni", "wna", "not_identical")),
    ("arrival", ("wni_arriving", "wna", "not_identical")),
])
def test_a_citizen_held_on_arrival_is_never_offered_departure_postponement(direction, offered) -> None:
    wf = cekal()
    case = start_case(wf, case_id="c", now_ms=T0, start_at="verify", context={"direction": direction})
    assert offered_answers(wf.step("verify"), case) == offered
    wrong = "wni" if direction == "arrival" else "wni_arriving"
    with pytest.raises(WorkflowError, match="answer one of"):
        complete_step(wf, case, step_id="verify", actor="s", positions=SUP, now_ms=T0, answer=wrong,
                      data={"agency_contacted": "x"})


def test_refusal_of_entry_is_decided_by_the_kasi_within_one_15_minute_standard_with_its_recording() -> None:
    wf = REGISTRY.get("tpi-05-refusal")
    case = start_case(wf, case_id="r", now_ms=T0, start_at="decide")
    with pytest.raises(WorkflowError, match="kasi_pemeriksaan"):
        complete_step(wf, case, step_id="decide", actor="sup", positions=SUP, now_ms=T0, answer="refuse")
    case = complete_step(wf, case, step_id="decide", actor="kasi", positions=["kasi_pemeriksaan"], now_ms=T0 + 10 * MIN,
                         answer="refuse_carrier")
    # The recording shares the decision's deadline: 5 minutes are left, not 15.
    assert case.current_step == "record_refusal" and case.current_due_ms == T0 + 15 * MIN
    [effect] = effects_of(wf, case.history[-1])
    assert (effect.kind, effect.workflow) == ("open_case", "tpi-09-carrier-charge")


def test_tpi_06_forwards_the_report_to_the_head_of_office_within_its_day() -> None:
    wf = REGISTRY.get("tpi-06-postponement")
    case = start_case(wf, case_id="p", now_ms=T0, start_at="report")
    case = complete_step(wf, case, step_id="report", actor="sup", positions=SUP, now_ms=T0 + 60 * MIN,
                         data={"chronology": "x"})
    assert case.current_step == "forward" and case.current_due_ms == T0 + 24 * 60 * MIN
    case = complete_step(wf, case, step_id="forward", actor="kabid", positions=["kabid_tpi"], now_ms=T0 + 61 * MIN,
                         data={"summary": "x"})
    assert case.status == "closed" and [key for key, _ in produced_documents(wf, case)][-1] == "nodin_kakanim"


def test_the_case_clock_reports_overdue_steps() -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, start_at="report")
    [deadline] = deadlines(wf, case, now_ms=T0 + 7 * MIN)
    assert deadline.is_overdue and deadline.overdue_ms == 2 * MIN


def test_a_gate_referral_is_not_overdue_while_the_traveller_walks_to_the_counter() -> None:
    """Issue 19 item 9: the referral opened on a 3-second step and was OVERDUE at once."""
    wf = REGISTRY.get("gate-referral")
    case = start_case(wf, case_id="g", now_ms=T0, start_at="gate_referral")
    assert case.current_step == "arrive" and deadlines(wf, case, now_ms=T0 + 10 * MIN) == []
    finish = wf.step("finish")
    assert "flight" in finish.required_fields and [e.kind for e in finish.effects] == ["record_crossing"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(step_id="secure", positions=SUP), "not due"),
        (dict(step_id="report", positions=["petugas_tpi"]), "is for supervisor_tpi"),
        (dict(step_id="report", positions=SUP, answer="wni"), "not a decision"),
    ],
)
def test_the_engine_refuses_what_the_sop_does_not_allow(kwargs, message) -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, start_at="report")
    with pytest.raises(WorkflowError, match=message):
        complete_step(wf, case, actor="x", now_ms=T0, **kwargs)


def test_decision_needs_a_known_answer_and_required_fields() -> None:
    wf = cekal()
    case = start_case(wf, case_id="c1", now_ms=T0, start_at="verify", context={"direction": "departure"})
    with pytest.raises(WorkflowError, match="agency_contacted"):
        complete_step(wf, case, step_id="verify", actor="s", positions=SUP, now_ms=T0, answer="wni")
    with pytest.raises(WorkflowError, match="answer one of"):
        complete_step(wf, case, step_id="verify", actor="s", positions=SUP, now_ms=T0, answer="maybe",
                      data={"agency_contacted": "x"})


def test_closed_case_accepts_nothing_more() -> None:
    wf = REGISTRY.get("it-05-cctv-alarm")
    case = start_case(wf, case_id="c", now_ms=T0, start_at="kasi_check")
    case = complete_step(wf, case, step_id="kasi_check", actor="k", positions=["kasi_unit_tpi"], now_ms=T0,
                         answer="not_identical")
    assert case.status == "closed" and case.outcome == "not the listed person: may cross"
    with pytest.raises(WorkflowError, match="closed"):
        complete_step(wf, case, step_id="kasi_check", actor="k", positions=["kasi_unit_tpi"], now_ms=T0, answer="identical")


def test_cctv_confirmation_and_hold_belong_to_the_kasi_unit_tpi() -> None:
    wf = REGISTRY.get("it-05-cctv-alarm")
    assert [wf.step(s).positions for s in ("kasi_check", "hold")] == [("kasi_unit_tpi",), ("kasi_unit_tpi",)]
    assert [s.id for s in wf.steps] == ["examine", "report", "kasi_check", "hold"]


def test_overstay_exit_mark_only_after_payment() -> None:
    wf = REGISTRY.get("tpi-07-overstay")
    order = [s.id for s in wf.steps]
    assert order.index("payment") < order.index("exit_stamp")
    case = start_case(wf, case_id="o1", now_ms=T0, start_at="compute")
    with pytest.raises(WorkflowError, match="not due"):
        complete_step(wf, case, step_id="exit_stamp", actor="o", positions=["petugas_tpi"], now_ms=T0)


@pytest.mark.parametrize(
    "expiry, departure, days, within",
    [(date(2026, 1, 10), date(2026, 1, 10), 0, True), (date(2026, 1, 10), date(2026, 1, 11), 1, True),
     (date(2026, 1, 10), date(2026, 3, 11), 60, True), (date(2026, 1, 10), date(2026, 3, 12), 61, False)],
)
def test_overstay_days_and_fee(expiry, departure, days, within) -> None:
    result = assess_overstay(expiry, departure, OverstayTariff(idr_per_day=1_000_000))
    assert (result.overstay_days, result.within_tpi_07) == (days, within)
    assert result.fee_idr == days * 1_000_000 and "28 Tahun 2019" in result.tariff_source


# ------------------------------------------------------------------ the working-day calendar


@pytest.mark.parametrize("start, days, due", [
    ((2026, 8, 14, 10, 0), 1, (2026, 8, 18, 10, 0)),  # Friday; Monday the 17th is a holiday
    ((2026, 8, 12, 16, 30), 3, (2026, 8, 18, 16, 30)),  # Wednesday + 3 working days, over the weekend and the holiday
    ((2026, 8, 15, 9, 0), 1, (2026, 8, 18, 9, 0)),  # started on a Saturday
])
def test_working_days_skip_weekends_and_configured_holidays(start, days, due) -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 8, 17)}))
    assert calendar.due_ms(wib_ms(*start), working_days=days) == wib_ms(*due)


def test_plain_days_are_calendar_days_unless_the_office_counts_them_as_working_days() -> None:
    friday = wib_ms(2026, 8, 14, 10, 0)
    assert WorkingCalendar().due_ms(friday, days=1) == wib_ms(2026, 8, 15, 10, 0)
    assert WorkingCalendar(days_are_working_days=True).due_ms(friday, days=1) == wib_ms(2026, 8, 17, 10, 0)


def test_the_replacement_passport_is_promised_three_working_days_after_payment() -> None:
    wf = REGISTRY.get("int-01-passport-replacement-lost-damaged")
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 8, 17)}))
    paid = wib_ms(2026, 8, 14, 11, 0)  # Friday
    case = start_case(wf, case_id="i", now_ms=paid - MIN, start_at="payment", calendar=calendar)
    case = complete_step(wf, case, step_id="payment", actor="a", positions=["petugas_dokjal"], now_ms=paid,
                         data={"payment_reference": "P-1"}, calendar=calendar)
    [span] = spans(wf, case, calendar)
    assert span.due_at_ms == wib_ms(2026, 8, 20, 11, 0)  # Mon 17 is a holiday: Tue, Wed, Thu
    assert span.within(wib_ms(2026, 8, 21, 0, 0)) is False and span.completed_at_ms is None


def test_a_branch_can_set_the_outcome_the_case_closes_with() -> None:
    wf = REGISTRY.get("tpi-04-interpol")
    case = start_case(wf, case_id="i", now_ms=T0, start_at="reverify")
    case = complete_step(wf, case, step_id="reverify", actor="s", positions=SUP, now_ms=T0, answer="not_confirmed")
    case = complete_step(wf, case, step_id="report_lk", actor="s", positions=SUP, now_ms=T0, data={"chronology": "x"})
    case = complete_step(wf, case, step_id="memo_head", actor="k", positions=["kabid_tpi"], now_ms=T0, data={"summary": "x"})
    assert case.outcome == "cleared after re-verification"  # never "closed: closed: ..."
    assert not case.outcome.startswith("closed")


# ------------------------------------------------------------------ definitions


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda d: d["steps"][0].__setitem__("next", "nowhere"), "unknown step"),
        (lambda d: d.__setitem__("start", "nowhere"), "start step"),
        (lambda d: d["steps"].append({**d["steps"][0], "id": "orphan"}), "unreachable"),
        (lambda d: d["steps"][0].__setitem__("positions", []), "no position"),
        (lambda d: d["steps"][0].__setitem__("positions", ["airline"]), "outside party"),
        (lambda d: d["steps"][0].__setitem__("positions", ["janitor"]), "unknown position"),
        (lambda d: d["steps"][0].__setitem__("waits_on", "petugas_tpi"), "not an outside party"),
        (lambda d: d["steps"][0].__setitem__("documents", ["nope"]), "unknown documents"),
        (lambda d: d["steps"][0].__setitem__("approves", ["nope"]), "unknown step"),
        (lambda d: d["steps"][0].__setitem__("time", {"minutes": 1, "hours": 1}), "one unit"),
        (lambda d: d["steps"][-1].__setitem__("outcome", None), "without an outcome"),
    ],
)
def test_bad_definitions_fail_at_load(broken, message) -> None:
    data = cekal().model_dump(mode="json")
    broken(data)
    with pytest.raises(ValueError, match=message):
        WorkflowDefinition.model_validate(data)


def test_a_step_with_no_way_to_an_end_fails_at_load() -> None:
    data = cekal().model_dump(mode="json")
    data["steps"][-1].update(next="report_lk", outcome=None)  # memo_head -> report_lk -> memo_head ...
    with pytest.raises(ValueError, match="no way to an end"):
        WorkflowDefinition.model_validate(data)


def test_fragments_are_shared_not_copied_and_their_exits_are_checked() -> None:
    four = [REGISTRY.get(w) for w in ("doc-04-itap-extension", "doc-05-itas-from-itk-conversion",
                                      "doc-07-itap-from-itas-conversion", "doc-09-skim-certificate")]
    assert len({tuple(s.id for s in d.steps) for d in four}) == 1
    assert four[3].step("register").action_en == "Print the SKIM certificate."
    assert four[0].step("regional_approval").waits_on == "kanwil" and four[0].step("dg_decision").waits_on == "ditjen"
    fragments = load_fragments()
    raw = {"id": "x", "sop_id": "x", "title_en": "x", "title_id": "x", "start": "draft",
           "steps": [{"include": "kakanim-signs", "exits": {"signed": None}}]}
    with pytest.raises(DefinitionError, match="must give exits"):
        resolve(raw, fragments, "x.json")


def test_the_pickup_family_and_the_detention_family_share_their_fragments() -> None:
    pickups = [REGISTRY.get(w) for w in ("doc-10-up3-whoosh", "doc-11-drive-thru-pickup", "doc-12-evening-service",
                                         "doc-13-saturday-pickup")]
    assert all({"ready_notice", "arrive", "verify", "hand_over"} <= {s.id for s in d.steps} for d in pickups)
    detention = REGISTRY.get("int-02-detention")
    assert detention.step("tak_sign").approves == ("tak_draft",) and detention.step("warrant_sign").positions == ("kepala_kantor",)
    assert detention.follow_ups == ("int-03-detainee-release", "int-04-deportation")


def test_the_definitions_on_disk_are_what_the_registry_loads() -> None:
    from central.workflows.registry import DEFINITIONS_DIR

    files = sorted(p.stem for p in DEFINITIONS_DIR.glob("*.json"))
    ids = sorted(json.loads((DEFINITIONS_DIR / f"{f}.json").read_text())["id"] for f in files)
    assert ids == sorted(REGISTRY.definitions) and len(ids) == 38
