"""Gate events open cases through the real ingest store, once, in its transaction."""

from __future__ import annotations

import pytest
from cases_support import (
    NOW_MS,
    TRAVELER,
    count,
    feed,
    hold_event,
    new_gate,
)
from sqlalchemy import select

from central.cases.models import Case
from central.models import Alert, AuditEntry, GateMessage
from central.watchlists.models import WatchlistEntryRow
from protocol import GateEvent


def _cases(database) -> list[Case]:
    with database.session() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def test_hold_opens_one_cekal_case_at_report_even_when_redelivered(
    any_database,
) -> None:
    gate = new_gate(any_database)
    message = gate.event(hold_event("tx-9"), message_id="a" * 32)
    feed(any_database, message)
    feed(any_database, message)  # the broker redelivers: stored once, one case
    # The gate also reports the hold's state change and, later, the referral of the same person.
    feed(
        any_database,
        gate.event(
            GateEvent(
                event="watchlist_hit",
                transaction_id="tx-9",
                state_from="checking",
                state_to="held",
            )
        ),
        gate.event(
            GateEvent(
                event="referral_recorded", transaction_id="tx-9", reason="cekal_identik"
            )
        ),
    )
    cases = _cases(any_database)
    assert len(cases) == 1
    case = cases[0]
    assert (case.workflow_id, case.current_step, case.status) == (
        "tpi-03-cekal",
        "report",
        "open",
    )
    assert case.gate_id == gate.gate_id and case.transaction_id == "tx-9"
    assert case.source_message_id == "a" * 32
    assert case.context["traveler"]["document_number"] == TRAVELER.document_number
    assert case.context["watchlist"]["entry_id"] == "WL-1"
    assert case.state["current_since_ms"] == NOW_MS
    assert count(any_database, GateMessage) == 3
    assert count(any_database, Alert, Alert.kind == "watchlist_hold") >= 1
    assert count(any_database, AuditEntry, AuditEntry.action == "case_opened") == 1


def test_interpol_hit_named_by_the_event_opens_tpi04_at_reverify(database) -> None:
    gate = new_gate(database)
    feed(database, gate.event(hold_event("tx-1", watchlist_list="interpol_notice")))
    [case] = _cases(database)
    assert (case.workflow_id, case.current_step) == ("tpi-04-interpol", "reverify")


def test_interpol_hit_known_from_centrals_watchlist_row(database) -> None:
    with database.session() as session:
        session.add(
            WatchlistEntryRow(
                entry_id="WL-1",
                list_name="interpol_sltd",
                agency="NCB Interpol Jakarta",
                reason="stolen passport",
                version=1,
            )
        )
        session.commit()
    gate = new_gate(database)
    feed(database, gate.event(hold_event("tx-1")))
    [case] = _cases(database)
    assert case.workflow_id == "tpi-04-interpol"
    assert case.context["watchlist"]["agency"] == "NCB Interpol Jakarta"


def test_cekal_hit_carries_the_requesting_agency(database) -> None:
    with database.session() as session:
        session.add(
            WatchlistEntryRow(
                entry_id="WL-1", list_name="pencegahan", agency="KPK", version=1
            )
        )
        session.commit()
    gate = new_gate(database)
    feed(database, gate.event(hold_event("tx-1")))
    [case] = _cases(database)
    assert case.workflow_id == "tpi-03-cekal"
    assert case.context["watchlist"] == {
        "entry_id": "WL-1",
        "list": "pencegahan",
        "agency": "KPK",
        "interested_party": "",
        "reason": "",
    }


def test_counter_referral_opens_gate_referral_with_the_reason(database) -> None:
    gate = new_gate(database)
    feed(
        database,
        gate.event(
            GateEvent(
                event="referral_recorded",
                transaction_id="tx-2",
                reason="face_mismatch",
                traveler=TRAVELER,
            )
        ),
    )
    [case] = _cases(database)
    assert (case.workflow_id, case.current_step) == ("gate-referral", "arrive")
    assert case.current_due_at is None  # no 3-second step running while the traveller walks over
    assert case.context["reason"] == "face_mismatch"
    assert "face did not match" in case.context["reason_text"]


@pytest.mark.parametrize(
    "event", ["transaction_started", "document_read", "transaction_ended", "fault"]
)
def test_other_events_open_no_case(database, event: str) -> None:
    gate = new_gate(database)
    feed(
        database,
        gate.event(GateEvent(event=event, transaction_id="tx-3", reason="crossed")),
    )
    assert _cases(database) == []


def test_a_hold_case_carries_the_alarms_reason_and_entry(database) -> None:
    """Issue 19 item 9: the case opened on the state change, which names no reason and no entry, and
    said "No reason given by the gate" with a blank watchlist entry for good. The state change into
    held opens nothing now; the gate's alarm, which names both, opens the case."""
    with database.session() as session:
        session.add(WatchlistEntryRow(entry_id="WL-7", list_name="pencegahan", agency="KPK",
                                      interested_party="Penyidik KPK", reason="tersangka korupsi", version=1))
        session.commit()
    gate = new_gate(database)
    feed(database, gate.event(GateEvent(event="watchlist_hold", transaction_id="tx-7", state_from="inside",
                                        state_to="held", traveler=TRAVELER)))
    assert _cases(database) == []
    feed(database, gate.event(hold_event("tx-7", watchlist_entry="WL-7")))
    [case] = _cases(database)
    assert case.context["reason"] == "cekal_identik"
    assert case.context["reason_text"].startswith("Identical watchlist hit")
    assert case.context["watchlist"]["entry_id"] == "WL-7"
    assert (case.context["watchlist"]["agency"], case.context["watchlist"]["reason"]) == ("KPK", "tersangka korupsi")
    assert case.state["context"]["watchlist"]["entry_id"] == "WL-7"  # the engine's copy too


def test_a_hold_at_an_arrival_gate_is_an_arrival_case(database) -> None:
    from central.services.gates import add_gate
    from signing_gate import FakeGate

    gate = FakeGate("gt-arr-1")
    with database.session() as session:
        add_gate(session, gate.gate_id, public_key_b64=gate.key.public.b64, direction="arrival")
        session.commit()
    feed(database, gate.event(hold_event("tx-1")))
    [case] = _cases(database)
    assert case.context["direction"] == "arrival"
