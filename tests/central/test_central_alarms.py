"""One alarm per event, and answered alarms clear themselves (issue 19, item 2).

The events come from the real gate machine driven by a simulated traveller, then go through the
real ingest store, so the test breaks when either side changes what a hold or a mismatch sends.
Before the fix one hold raised three critical alerts (the state change, the alarm and the
referral after the release), none cleared by the release, and the daily recap counted each one.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from central_support import NOW_MS, FakeGate, ingest, register
from sqlalchemy import select

from central.models import Alert
from central.services.stats import daily_recap
from central.watchlists.models import WatchlistEntryRow
from edge.gate.config import GateConfig
from edge.gate.machine import GateMachine
from edge.gate.recognition import DocumentNumberWatchlist, Recognition
from edge.gate.runtime import GateRuntime
from edge.hardware.clock import ManualScheduler
from edge.hardware.simulated import SimulatedGateHardware
from edge.link.base import MemoryLink
from protocol.messages import CommandAck
from simulators.travelers import GateDriver, make_traveler

TODAY = date(2026, 5, 1)


class _Gate:
    """A real gate machine and runtime on simulated hardware, its messages signed for central."""

    def __init__(self, gate_id: str, held_numbers: dict[str, str] | None = None) -> None:
        self.scheduler = ManualScheduler()
        self.hardware = SimulatedGateHardware(scheduler=self.scheduler)
        self.link = MemoryLink()
        self.runtime = GateRuntime(
            GateMachine(GateConfig(gate_id=gate_id)), hardware=self.hardware, link=self.link,
            recognition=Recognition(watchlist=DocumentNumberWatchlist(identical=held_numbers or {}),
                                    today=lambda: TODAY),
            scheduler=self.scheduler, time_origin_ms=NOW_MS - 600_000)
        self.runtime.start()
        self.driver = GateDriver(self.runtime, self.hardware, self.scheduler, supervisor=None)
        self.signer = FakeGate(gate_id)
        self._sent = 0

    def deliveries(self) -> list[tuple[str, bytes]]:
        """The durable messages published since the last call, sealed as the gate's outbox would."""
        fresh = [p for p in self.link.events[self._sent:] if not isinstance(p, CommandAck)]
        self._sent = len(self.link.events)
        return [self.signer.event(p) for p in fresh]


def _alerts(database, **where) -> list[Alert]:
    with database.session() as session:
        query = select(Alert).order_by(Alert.id)
        for name, value in where.items():
            query = query.where(getattr(Alert, name) == value)
        return list(session.scalars(query))


@pytest.fixture
def hold_gate(any_database):
    traveler = make_traveler(random.Random(11), 1, today=TODAY, expired=False, foreign=False)
    gate = _Gate("gt-alarm1", {traveler.document_number: "WL-7"})
    register(any_database, gate.signer)
    with any_database.session() as session:
        session.add(WatchlistEntryRow(entry_id="WL-7", list_name="pencegahan", agency="KPK",
                                      reason="Tersangka korupsi", version=1))
        session.commit()
    return gate, traveler


def test_a_hold_raises_one_alert_with_the_entry_and_the_release_clears_it(any_database, hold_gate) -> None:
    gate, traveler = hold_gate
    assert gate.driver.run_traveler(traveler) == "held"
    ingest(any_database, *gate.deliveries())
    [hold] = _alerts(any_database)
    assert (hold.kind, hold.severity, hold.acknowledged_at) == ("watchlist_hold", "critical", None)
    assert hold.details["watchlist"] == {"entry_id": "WL-7", "known": True, "list": "pencegahan", "agency": "KPK",
                                         "interested_party": "", "reason": "Tersangka korupsi", "valid_until": None}
    assert gate.driver.command("release_held", reason="escorted to the cekal office", issued_by="spv-ana")
    gate.driver.run_traveler(traveler, stop_when_held=False)  # walks out; the gate is idle again
    assert gate.runtime.state == "idle"
    ingest(any_database, *gate.deliveries())
    [hold] = _alerts(any_database)  # the referral after the release raised nothing new
    assert hold.acknowledged_at is not None and hold.acknowledged_by == "spv-ana"
    assert hold.details["answered_by_event"] == "held_released"
    with any_database.session() as session:
        assert daily_recap(session, date.fromtimestamp(NOW_MS / 1000))["watchlist_holds"] == 1


def test_a_redelivered_alarm_or_a_second_report_does_not_raise_a_second_alert(any_database, hold_gate) -> None:
    gate, traveler = hold_gate
    gate.driver.run_traveler(traveler)
    messages = gate.deliveries()
    ingest(any_database, *messages, *messages)  # redelivered by the broker: duplicates
    alarm = next(p for p in gate.link.events if getattr(p, "event", None) == "alarm_raised")
    ingest(any_database, gate.signer.event(alarm))  # the same alarm again under a new message id
    assert len(_alerts(any_database, kind="watchlist_hold")) == 1


@pytest.mark.parametrize(("answer", "by"), [("grant_retry", "spv-budi"), ("send_to_counter", "spv-budi"),
                                            (None, "gate gt-alarm2")])
def test_a_mismatch_alert_clears_when_answered_or_when_the_gate_times_out(any_database, answer, by) -> None:
    traveler = make_traveler(random.Random(5), 1, today=TODAY, expired=False, foreign=False,
                             finger_samples=("mismatch", "genuine"), face_samples=("genuine",))
    gate = _Gate("gt-alarm2")
    register(any_database, gate.signer)
    gate.driver.supervisor = (lambda rt, step: answer) if answer else None
    gate.driver.supervisor_id = "spv-budi"
    outcome = gate.driver.run_traveler(traveler)
    assert outcome == ("crossed" if answer == "grant_retry" else "referred_to_counter")
    ingest(any_database, *gate.deliveries())
    [mismatch] = _alerts(any_database, kind="biometric_mismatch")
    assert mismatch.acknowledged_by == by
    assert mismatch.details["details"]["fingerprint_match"] is False
    assert "fingerprint_score" in mismatch.details["details"]
