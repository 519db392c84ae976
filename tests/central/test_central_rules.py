"""The pure ingest rules: sequence judgement and the alert table."""

from __future__ import annotations

import pytest

from central.ingest.rules import ALERT_RULES, SeqVerdict, alerts_for_event, judge_seq, resolution_for_event
from protocol import GateEvent


@pytest.mark.parametrize(
    ("last", "seq", "verdict", "missing"),
    [
        (0, 1, SeqVerdict.NEXT, (0, 0)),
        (5, 6, SeqVerdict.NEXT, (0, 0)),
        (5, 9, SeqVerdict.GAP, (6, 8)),
        (0, 3, SeqVerdict.GAP, (1, 2)),
        (5, 5, SeqVerdict.LATE, (0, 0)),
        (5, 2, SeqVerdict.LATE, (0, 0)),
        (5, 0, SeqVerdict.UNSEQUENCED, (0, 0)),
    ],
)
def test_judge_seq(last: int, seq: int, verdict: SeqVerdict, missing: tuple[int, int]) -> None:
    judgement = judge_seq(last, seq)
    assert judgement.verdict is verdict
    assert (judgement.missing_from, judgement.missing_to) == missing


@pytest.mark.parametrize(
    ("event", "kinds"),
    [
        # The hold as the gate reports it (edge/gate/machine.py): the state change into held, the
        # alarm, and after the release the referral. Only the alarm is the hold (issue 19.2).
        (GateEvent(event="door_closed", state_from="entry_open", state_to="held"), []),
        (GateEvent(event="alarm_raised", reason="cekal_identik"), ["watchlist_hold"]),
        (GateEvent(event="referral_recorded", reason="cekal_identik"), []),
        (GateEvent(event="fingerprint_result", state_from="fingerprint", state_to="awaiting_supervisor"), []),
        (GateEvent(event="supervisor_notified", reason="face_mismatch"), ["biometric_mismatch"]),
        (GateEvent(event="alarm_raised", reason="emergency_held_released"), ["emergency"]),
        (GateEvent(event="alarm_raised", reason="interlock"), ["fault"]),
        (GateEvent(event="transaction_ended", reason="released_to_officer"), []),
    ],
)
def test_each_real_world_event_raises_one_alert(event: GateEvent, kinds: list[str]) -> None:
    assert [r.kind for r in alerts_for_event(event)] == kinds


@pytest.mark.parametrize(
    ("event", "kinds", "gate_wide"),
    [
        (GateEvent(event="retry_granted", transaction_id="t"), {"biometric_mismatch"}, False),
        (GateEvent(event="sent_to_counter", transaction_id="t"), {"biometric_mismatch"}, False),
        (GateEvent(event="held_released", transaction_id="t"), {"watchlist_hold"}, False),
        (GateEvent(event="gate_reset"), {"emergency", "fault"}, True),
        (GateEvent(event="alarm_acknowledged", details={"alarm": "cekal_identik"}), {"watchlist_hold"}, True),
    ],
)
def test_answers_clear_the_alerts_they_answer(event: GateEvent, kinds: set[str], gate_wide: bool) -> None:
    resolution = resolution_for_event(event)
    assert resolution is not None and resolution.kinds == kinds and resolution.gate_wide is gate_wide


def test_a_hold_is_never_answered_by_a_timer_or_the_transaction_ending() -> None:
    ended = resolution_for_event(GateEvent(event="transaction_ended", transaction_id="t"))
    assert ended is not None and "watchlist_hold" not in ended.kinds


def test_alert_kinds_are_unique_and_a_cekal_hold_is_critical() -> None:
    kinds = [r.kind for r in ALERT_RULES]
    assert len(kinds) == len(set(kinds))
    assert next(r for r in ALERT_RULES if r.kind == "watchlist_hold").severity == "critical"
