"""The case clock on a fake clock, the pure event mapping, and ingest surviving a case failure."""

from __future__ import annotations

import pytest
from cases_support import NOW_MS, actor_for, count, feed, hold_event, new_gate

from central.cases import mapping, service
from central.cases.models import Case
from central.models import Alert, GateMessage
from protocol import GateEvent

def test_overdue_follows_the_step_standard(any_database) -> None:
    supervisor = actor_for(any_database, "supervisor")
    with any_database.session() as session:
        row = service.open_case(
            session, "tpi-03-cekal", now_ms=NOW_MS, actor=supervisor, start_at="report",
            context={"direction": "departure"},
        )
        on_time = service.clock(row, NOW_MS + 300_000)
        late = service.clock(row, NOW_MS + 420_000)
        assert (on_time.is_overdue, on_time.elapsed_s, on_time.standard_s) == (
            False,
            300,
            300,
        )
        assert (late.is_overdue, late.overdue_s, late.due_at_ms) == (
            True,
            120,
            NOW_MS + 300_000,
        )
        # Completing late is recorded as outside the standard; the next step's clock starts then.
        service.complete(
            session, row.id, actor=supervisor, step_id="report", now_ms=NOW_MS + 420_000
        )
        [record] = service.step_records(session, row.id)
        assert record.within_standard is False and record.standard_s == 300
        assert service.clock(row, NOW_MS + 430_000).elapsed_s == 10
        # "Kondisional" steps (verify) are measured, never overdue.
        service.complete(
            session, row.id, actor=supervisor, step_id="secure", now_ms=NOW_MS + 430_000
        )
        tick = service.clock(row, NOW_MS + 10 * 86_400_000)
        assert (tick.step_id, tick.standard_s, tick.is_overdue) == (
            "verify",
            None,
            False,
        )
        session.commit()


def test_list_puts_open_cases_first(database) -> None:
    supervisor = actor_for(database, "supervisor")
    with database.session() as session:
        first = service.open_case(
            session, "gate-referral", now_ms=NOW_MS, actor=supervisor, context={"direction": "departure"}
        )
        second = service.open_case(
            session, "tpi-05-refusal", now_ms=NOW_MS + 1000, actor=supervisor
        )
        first.status = "closed"
        session.flush()
        ids = [c.id for c in service.list_cases(session, service.CaseQuery())]
        assert ids == [second.id, first.id]
        assert [
            c.id
            for c in service.list_cases(session, service.CaseQuery(status="closed"))
        ] == [first.id]
        assert (
            service.list_cases(session, service.CaseQuery(), role="cctv_operator") == []
        )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            GateEvent(event="alarm_raised", reason="cekal_identik"),
            ("tpi-03-cekal", "gate_hold"),
        ),
        (  # the state change into held is not the hold's report: the alarm is (one case, one alert)
            GateEvent(event="door_closed", state_from="entry_open", state_to="held"),
            None,
        ),
        (
            GateEvent(
                event="alarm_raised",
                reason="cekal_identik",
                details={"watchlist_list": "interpol_sltd"},
            ),
            ("tpi-04-interpol", "gate_hold"),
        ),
        (
            GateEvent(event="referral_recorded", reason="document_invalid"),
            ("gate-referral", "gate_referral"),
        ),
        (GateEvent(event="alarm_raised", reason="interlock"), None),
        (GateEvent(event="watchlist_similar"), None),
    ],
)
def test_event_mapping(event: GateEvent, expected) -> None:
    opening = mapping.opening_for_event("g1", event)
    assert (
        None if opening is None else (opening.workflow_id, opening.start_at)
    ) == expected


def test_reason_text_reads_comma_joined_codes() -> None:
    assert mapping.reason_text("expired,bad_check_digit") == "expired; bad check digit"
    assert mapping.reason_text(None) == "No reason given by the gate"


def test_a_failing_case_never_stops_the_event_being_stored(
    database, monkeypatch
) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("bug in case opening")

    monkeypatch.setattr(service, "opening_for_event", broken)
    gate = new_gate(database)
    feed(database, gate.event(hold_event("tx-1")))
    assert count(database, GateMessage) == 1
    assert count(database, Alert, Alert.kind == "watchlist_hold") == 1
    assert count(database, Case) == 0
