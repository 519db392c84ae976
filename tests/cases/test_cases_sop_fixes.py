"""Where the project contradicted the SOP text (issue 21 item 7), each with the test that failed before.

The workflow-side ones (the Kabid's memo, tpi-05's decision and standard, tpi-09's SK, it-05's
Kasi, tpi-06's forward, the arrival-gate branch) are in tests/workflows; these are the gate's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from central.ingest.rules import alerts_for_event
from edge.mrz import check_document
from edge.settings import DocumentSettings, EdgeSettings
from protocol import GateEvent


def test_a_similar_watchlist_hit_at_a_gate_raises_an_alert() -> None:
    """tpi-08 holds a traveller *suspected* of a cekal match; a mirip hit was stored and never shown."""
    [rule] = alerts_for_event(GateEvent(event="watchlist_similar", details={"watchlist_entry": "WL-1"}))
    assert rule.kind == "watchlist_similar" and rule.severity == "high" and "mirip" in rule.text


class _Mrz:
    """The fields check_document reads, for a valid Indonesian passport."""

    valid = True
    document_code = "P"
    nationality = issuing_state = "IDN"
    birth_date = date(1980, 1, 1)

    def __init__(self, expiry: date) -> None:
        self.expiry_date = expiry


@pytest.mark.parametrize("direction", ["departure", "arrival"])
def test_an_indonesian_passport_valid_for_less_than_six_months_passes_by_default(direction: str) -> None:
    """tpi-08 asks only that the passport be valid; the gate applied 183 days both ways, with no setting."""
    settings = EdgeSettings(gate_id="g1", demo_mode=True, direction=direction)
    today = date(2026, 5, 1)
    decision = check_document(_Mrz(today + timedelta(days=30)), today=today,
                              policy=settings.documents.policy(direction))
    assert decision.accepted, decision.reasons
    expired = check_document(_Mrz(today - timedelta(days=1)), today=today, policy=settings.documents.policy(direction))
    assert "expired" in expired.reasons


def test_the_office_may_ask_for_six_months_on_departure_only() -> None:
    documents = DocumentSettings(min_validity_days_departure=183)
    today = date(2026, 5, 1)
    short = _Mrz(today + timedelta(days=30))
    assert check_document(short, today=today, policy=documents.policy("departure")).reasons == ("validity_too_short",)
    assert check_document(short, today=today, policy=documents.policy("arrival")).accepted
