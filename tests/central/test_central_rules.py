"""The pure ingest rules: sequence judgement and the alert table."""

from __future__ import annotations

import pytest

from central.ingest.rules import ALERT_RULES, SeqVerdict, alerts_for_event, judge_seq
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


def test_one_event_can_raise_several_alerts() -> None:
    kinds = [r.kind for r in alerts_for_event(GateEvent(event="emergency", state_to="emergency", reason="tailgating"))]
    assert kinds == ["emergency", "tailgating"]


def test_alert_kinds_are_unique_and_a_cekal_hold_is_critical() -> None:
    kinds = [r.kind for r in ALERT_RULES]
    assert len(kinds) == len(set(kinds))
    assert next(r for r in ALERT_RULES if r.kind == "watchlist_hold").severity == "critical"
