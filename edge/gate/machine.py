"""The gate transaction state machine: pure and total (no I/O, no wall clock, no threads).

``GateMachine.handle(event, now_ms) -> Decision`` looks the event up in the transition table
(edge/gate/table.py), evaluates the named guards, and returns the new state with the effects the
runtime must perform: door commands, indicator, traveler message, timers, recognition requests,
and the GateEvent / CrossingRecord / GateState payloads to publish. An impossible event returns a
``Decision`` with ``rejected`` set, is logged and counted; it never raises.

Safety the machine adds on top of the hardware interlocks: it never commands a door open unless
its knowledge says the other door is shut (a suppressed command is counted and alarmed), every
emergency releases every door and raises an alarm, and a held traveler is left only through an
audited release, an emergency or a fault.
"""

from __future__ import annotations

import logging
from typing import Any

from edge.gate import effects as fx
from edge.gate.config import GateConfig
from edge.gate.core import Decision, MachineCore, Step
from edge.gate.events import (
    biometric_failure,
    DocumentChecked,
    DocumentRead,
    FaceResult,
    FaultInput,
    FingerprintResult,
    GateInput,
    PersonEvent,
    SupervisorCommand,
    TimerExpired,
)
from edge.gate.guards import FACTS
from edge.gate.passback import PassbackMemory, document_key
from edge.gate.states import MANTRAP_STATES, TRANSACTION_STATES, State
from edge.gate.transaction import Transaction
from edge.hardware.base import DoorAction, DoorCommand
from protocol.messages import CrossingRecord

log = logging.getLogger(__name__)

S = State


class GateMachine(MachineCore):
    """The transaction machine of one gate (SOP tpi-08; autogate.md §6-7).

    :param config: timeouts, retry limit and anti-passback window (``GateConfig``).
    :param passback: a shared anti-passback memory; a private one (config window) when omitted.
    """

    def __init__(self, config: GateConfig | None = None, *, passback: PassbackMemory | None = None) -> None:
        super().__init__(config, passback=passback)

    # ------------------------------------------------------------------ state entry

    def _enter_idle(self, step: Step) -> None:
        self._end_transaction(step)
        self._message(step, self._state.value)

    def _enter_reading_document(self, step: Step) -> None:
        self._start_timer("scan", self.config.scan_standard_s, step)
        self._message(step, "reading_document")
        step.effects.append(fx.Request("read_document"))

    def _enter_checking(self, step: Step) -> None:
        self._message(step, "checking")
        step.effects.append(fx.Request("check_document"))

    def _enter_entry_open(self, step: Step) -> None:
        self._message(step, "entry_open")
        self._open_door("entry", "entry_door_open", step)

    def _enter_inside(self, step: Step) -> None:
        txn = self._txn()
        retrying = txn.retries["fingerprint"] > 0
        self._message(step, "retry_fingerprint" if retrying else "inside")
        txn.start_step("fingerprint", step.now_ms)
        self._start_timer("finger", self.config.finger_wait_s, step)

    def _enter_fingerprint(self, step: Step) -> None:
        self._message(step, "fingerprint")
        step.effects.append(fx.Request("verify_fingerprint"))

    def _enter_face(self, step: Step) -> None:
        txn = self._txn()
        self._message(step, "retry_face" if txn.retries["face"] > 0 else "face")
        txn.start_step("face", step.now_ms)
        self._start_timer("face", self.config.face_wait_s, step)

    def _enter_awaiting_supervisor(self, step: Step) -> None:
        txn = self._txn()
        txn.start_step("supervisor_wait", step.now_ms)
        self._message(step, "awaiting_supervisor")
        self._start_timer("supervisor", self.config.supervisor_timeout_s, step)
        details: dict[str, Any] = {
            "step": txn.failed_step,
            "retries_used": txn.retries.get(txn.failed_step or "", 0),
            "retries_left": self._retries_left(),
        }
        # What each biometric said, so the supervisor sees which failed and by how much.
        for modality, result in (("fingerprint", txn.fingerprint), ("face", txn.face)):
            if result is None:
                continue
            details[f"{modality}_match"] = result.match
            details[f"{modality}_score"] = result.score
            details[f"{modality}_threshold"] = result.threshold
            if result.refused_reason:
                details[f"{modality}_refused"] = result.refused_reason[:200]
        step.effects.append(
            fx.Publish(
                self._event(
                    "supervisor_notified",
                    step,
                    reason=txn.failure_reason,
                    details=details,
                )
            )
        )

    def _enter_held(self, step: Step) -> None:
        self._message(step, "held")
        step.effects.append(fx.Door(DoorCommand("entry", DoorAction.LOCK)))
        step.effects.append(fx.Door(DoorCommand("exit", DoorAction.LOCK)))
        txn = self._txn()
        self._raise_alarm("cekal_identik", step, details={"watchlist_entry": txn.watchlist_entry})

    def _enter_return_to_counter(self, step: Step) -> None:
        txn = self._txn()
        self._message(
            step,
            "one_person_only" if txn.outcome == "tailgating" else "return_to_counter",
        )
        self._start_timer("walk_out", self.config.walk_out_timeout_s, step)
        step.effects.append(
            fx.Publish(self._event("referral_recorded", step, reason=txn.outcome_reason or txn.outcome))
        )
        if self._doors["entry"] == "locked":
            step.effects.append(fx.Door(DoorCommand("entry", DoorAction.UNLOCK)))
        else:
            self._open_door("entry", "entry_door_reopen", step)

    def _enter_exit_open(self, step: Step) -> None:
        self._message(step, "exit_open")
        self._start_timer("walk_out", self.config.walk_out_timeout_s, step)
        if self._doors["exit"] == "locked":
            step.effects.append(fx.Door(DoorCommand("exit", DoorAction.UNLOCK)))
        else:
            self._open_door("exit", "exit_door_open", step)

    def _enter_out_of_service(self, step: Step) -> None:
        self._message(step, "out_of_service")

    def _enter_emergency(self, step: Step) -> None:
        self._message(step, "emergency")
        self._cancel_all_timers(step)
        step.effects.insert(0, fx.ReleaseAll())  # first: an emergency release never waits
        self._end_transaction(step)

    def _enter_fault(self, step: Step) -> None:
        self._message(step, "fault")
        self._cancel_all_timers(step)
        self._end_transaction(step)

    # ------------------------------------------------------------------ actions (named in the table)

    def _do_start_transaction(self, event: GateInput, step: Step) -> None:
        self._transactions += 1
        txn_id = f"{self.config.gate_id[:32]}-{step.now_ms}-{self._transactions}"  # wire ids: 64 chars max
        self.transaction = Transaction(transaction_id=txn_id, started_ms=step.now_ms)
        self.transaction.start_step("document_scan", step.now_ms)
        self.transaction.start_step("total", step.now_ms)
        step.effects.append(fx.Publish(self._event("transaction_started", step)))

    def _do_record_traveler(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, DocumentRead)
        self._txn().traveler = event.traveler

    def _do_refuse_unreadable(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, DocumentRead)
        self._refuse("document_unreadable", event.problem or "unreadable", step)

    def _do_refuse_scan_timeout(self, event: GateInput, step: Step) -> None:
        self._refuse("scan_timeout", "scan_timeout", step)

    def _do_refuse_invalid(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, DocumentChecked)
        self._refuse("document_invalid", ",".join(event.reasons)[:64] or "invalid", step)

    def _do_refuse_passback(self, event: GateInput, step: Step) -> None:
        self._refuse("passback_refused", "document_used_recently", step)

    def _do_admit(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, DocumentChecked)
        txn = self._txn()
        txn.end_step("document_scan", step.now_ms)
        txn.watchlist_version = event.watchlist_version
        if event.watchlist_level == "similar":
            # Decided (docs/gate.md): a similar, not identical, hit lets the traveler continue
            # and puts the candidate on the supervisor's screen.
            step.effects.append(
                fx.Publish(
                    self._event(
                        "watchlist_similar",
                        step,
                        details={"watchlist_entry": event.watchlist_entry},
                    )
                )
            )

    def _do_admit_for_hold(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, DocumentChecked)
        self._do_admit(event, step)
        txn = self._txn()
        txn.hold = True
        txn.watchlist_entry = event.watchlist_entry

    def _do_entry_opened(self, event: GateInput, step: Step) -> None:
        if self._occupants == 0:
            self._start_timer("walk_in", self.config.walk_in_timeout_s, step)

    def _do_close_entry_behind(self, event: GateInput, step: Step) -> None:
        self._cancel_timer("walk_in", step)
        self._message(step, "entry_closing")
        self._close_door("entry", "entry_door_close", step)

    def _do_close_entry(self, event: GateInput, step: Step) -> None:
        timing = "entry_door_close" if self._state is S.ENTRY_OPEN else "entry_door_reclose"
        self._close_door("entry", timing, step)

    def _do_close_entry_unused(self, event: GateInput, step: Step) -> None:
        self._close_door("entry", "entry_door_close", step)

    def _do_abandon(self, event: GateInput, step: Step) -> None:
        self._txn().set_outcome("abandoned", "nobody_entered")

    def _do_hold(self, event: GateInput, step: Step) -> None:
        log.warning(
            "gate %s: traveler held (cekal identik), transaction %s",
            self.config.gate_id,
            self._txn().transaction_id,
        )

    def _do_stop_for_tailgating(self, event: GateInput, step: Step) -> None:
        txn = self._txn()
        txn.set_outcome("tailgating", "tailgating")
        self._raise_alarm("tailgating", step)

    def _do_report_anomaly(self, event: GateInput, step: Step) -> None:
        detail = event.detail if isinstance(event, PersonEvent) else ""
        step.effects.append(
            fx.Publish(self._event(event.name, step, reason="anomaly", details={"detail": detail[:200]}))
        )

    def _do_fail_finger_absent(self, event: GateInput, step: Step) -> None:
        txn = self._txn()
        txn.end_step("fingerprint", step.now_ms)
        txn.failed_step, txn.failure_reason = "fingerprint", "fingerprint_not_presented"

    def _do_record_fingerprint(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, FingerprintResult)
        txn = self._txn()
        txn.end_step("fingerprint", step.now_ms)
        txn.fingerprint = event.result.model_copy(update={"attempts": txn.retries["fingerprint"] + 1})
        if not event.result.match:
            txn.failed_step = "fingerprint"
            txn.failure_reason = biometric_failure("fingerprint", event.result)

    def _do_verify_face(self, event: GateInput, step: Step) -> None:
        self._cancel_timer("face", step)
        step.effects.append(fx.Request("verify_face"))

    def _do_record_face(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, FaceResult)
        txn = self._txn()
        txn.end_step("face", step.now_ms)
        txn.face = event.result.model_copy(update={"attempts": txn.retries["face"] + 1})
        if not event.result.match:
            txn.failed_step = "face"
            txn.failure_reason = biometric_failure("face", event.result)

    def _do_fail_face_absent(self, event: GateInput, step: Step) -> None:
        txn = self._txn()
        txn.end_step("face", step.now_ms)
        txn.failed_step, txn.failure_reason = "face", "face_not_captured"

    def _do_count_retry(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, SupervisorCommand)
        txn = self._txn()
        txn.end_step("supervisor_wait", step.now_ms)
        failed = txn.failed_step or "fingerprint"
        txn.retries[failed] += 1
        step.effects.append(fx.Publish(self._audit("retry_granted", event, step, details={"step": failed})))
        txn.failed_step = txn.failure_reason = None

    def _do_refer_by_supervisor(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, SupervisorCommand)
        txn = self._txn()
        txn.end_step("supervisor_wait", step.now_ms)
        txn.set_outcome("referred_to_counter", txn.failure_reason or "supervisor")
        step.effects.append(fx.Publish(self._audit("sent_to_counter", event, step)))

    def _do_refer_on_timeout(self, event: GateInput, step: Step) -> None:
        txn = self._txn()
        txn.end_step("supervisor_wait", step.now_ms)
        txn.set_outcome("referred_to_counter", txn.failure_reason or "supervisor_timeout")

    def _do_acknowledge(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, SupervisorCommand)
        if self.transaction is not None:
            self.transaction.acknowledged_by = event.issued_by
        step.effects.append(fx.Publish(self._audit("alarm_acknowledged", event, step, details={"alarm": self._alarm})))
        self._alarm = None

    def _do_release_to_officer(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, SupervisorCommand)
        txn = self._txn()
        txn.released_by = event.issued_by
        # The hold's outcome becomes the release: the officer takes the traveler (tpi-03 step 6).
        txn.outcome, txn.outcome_reason = "released_to_officer", "cekal_identik"
        step.effects.append(fx.Publish(self._audit("held_released", event, step)))
        self._alarm = None

    def _do_record_hold_face(self, event: GateInput, step: Step) -> None:
        """The held traveler's face against the enrolment: for the officer, never a decision."""
        assert isinstance(event, FaceResult)
        result = event.result
        details: dict[str, Any] = {"face_match": result.match, "face_score": result.score,
                                   "face_threshold": result.threshold}
        if result.refused_reason:
            details["face_refused"] = result.refused_reason[:200]
        step.effects.append(fx.Publish(self._event("hold_face_checked", step, reason="cekal_identik", details=details)))

    def _do_clear_lane(self, event: GateInput, step: Step) -> None:
        """The supervisor has seen the mantrap empty: trust that over the beams' count."""
        assert isinstance(event, SupervisorCommand)
        step.effects.append(fx.Publish(self._audit("lane_cleared", event, step, details={"occupants_counted": self._occupants})))
        self._occupants = 0
        self._do_close_all_doors(event, step)

    def _do_open_entry(self, event: GateInput, step: Step) -> None:
        self._open_door("entry", "entry_door_reopen", step)

    def _do_entry_reopened(self, event: GateInput, step: Step) -> None:
        if self._occupants == 0:
            self._close_door("entry", None, step)

    def _do_report_lingering(self, event: GateInput, step: Step) -> None:
        step.effects.append(fx.Publish(self._event("traveler_lingering", step, reason="walk_out_timeout")))
        self._start_timer("walk_out", self.config.walk_out_timeout_s, step)

    def _do_open_exit(self, event: GateInput, step: Step) -> None:
        self._open_door("exit", "exit_door_open", step)

    def _do_close_exit(self, event: GateInput, step: Step) -> None:
        self._close_door("exit", None, step)

    def _do_record_crossing(self, event: GateInput, step: Step) -> None:
        txn = self._txn()
        if txn.crossing_recorded or txn.traveler is None:
            return
        txn.crossing_recorded = True
        txn.set_outcome("crossed")
        txn.end_step("total", step.now_ms)
        self.passback.remember(
            document_key(txn.traveler.issuing_state, txn.traveler.document_number),
            step.now_ms,
        )
        record = CrossingRecord(
            transaction_id=txn.transaction_id,
            direction=self.config.direction,
            traveler=txn.traveler,
            started_at_ms=txn.started_ms,
            completed_at_ms=step.now_ms,
            fingerprint=txn.fingerprint,
            face=txn.face,
            timings_ms=dict(txn.timings_ms),
            watchlist_version=txn.watchlist_version,
        )
        step.effects.append(fx.Publish(record))

    def _do_audit_command(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, SupervisorCommand)
        step.effects.append(fx.Publish(self._audit(f"command_{event.action}", event, step)))

    def _do_close_all_doors(self, event: GateInput, step: Step) -> None:
        for door in ("entry", "exit"):
            if self._doors[door] == "open" or door in self._moving:
                self._close_door(door, None, step)

    def _do_reset_to_safe(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, SupervisorCommand)
        step.effects.append(fx.Publish(self._audit("gate_reset", event, step, details={"alarm": self._alarm})))
        self._alarm = None
        self._do_close_all_doors(event, step)

    def _do_enter_emergency(self, event: GateInput, step: Step) -> None:
        held = self._state is S.HELD
        if self.transaction is not None:
            self.transaction.set_outcome("emergency", "fire_alarm")
        # A released held traveler is the one case the supervisor must hear about at once.
        self._raise_alarm(
            "emergency_held_released" if held else "emergency",
            step,
            details={"held": held},
        )

    def _do_enter_fault(self, event: GateInput, step: Step) -> None:
        detail = event.detail if isinstance(event, FaultInput) else ""
        if self.transaction is not None:
            self.transaction.set_outcome("fault", "fault")
        self._raise_alarm(
            "fault",
            step,
            details={"detail": detail[:200], "held": self._state is S.HELD},
        )

    def _do_door_timed_out(self, event: GateInput, step: Step) -> None:
        assert isinstance(event, TimerExpired)
        self._fault_input = True  # until the hardware (or a reset after repair) says otherwise
        if self.transaction is not None:
            self.transaction.set_outcome("fault", "door_timeout")
        self._raise_alarm("fault", step, details={"detail": f"{event.timer} did not arrive in time"})

    def _do_note_fault(self, event: GateInput, step: Step) -> None:
        detail = event.detail if isinstance(event, FaultInput) else ""
        step.effects.append(fx.Publish(self._event("fault", step, reason="fault", details={"detail": detail[:200]})))


# Exported for tests and docs.
GUARD_NAMES: tuple[str, ...] = tuple(FACTS)
__all__ = ["GUARD_NAMES", "MANTRAP_STATES", "TRANSACTION_STATES", "Decision", "GateMachine", "Transaction"]
