"""The engine of the gate machine: table lookup, guards, timers, door knowledge, publishing.

``MachineCore`` knows how to run a transition table; ``GateMachine`` (machine.py) adds what each
SOP step does on entering a state and in each named action. Split so that neither file mixes the
mechanics with the SOP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from edge.gate import effects as fx
from edge.gate.config import GateConfig
from edge.gate.errors import TransitionTableError
from edge.gate.events import (
    OBSERVATIONS,
    DoorEvent,
    EmergencyInput,
    FaultInput,
    GateInput,
    SUPERVISOR_ACTIONS,
    PersonEvent,
    SupervisorCommand,
    TimerExpired,
)
from edge.gate.guards import FACTS, SHUT
from edge.gate.metrics import GateMetrics, step_standards_ms
from edge.gate.passback import PassbackMemory
from edge.gate.states import INDICATORS, State
from edge.gate.table import TRANSITIONS, Transition, index
from edge.gate.transaction import Transaction
from edge.hardware.base import DoorAction, DoorCommand, DoorName, other_door
from protocol.messages import GateEvent, GateState

log = logging.getLogger(__name__)

S = State
_SHUT = SHUT


@dataclass(frozen=True)
class Decision:
    """What one event did: the state before and after, and the effects to perform in order."""

    event: str
    state_from: State
    state: State
    effects: tuple[fx.Effect, ...] = ()
    accepted: bool = True
    rejected: str | None = None  # why an impossible event was refused
    row: Transition | None = None
    ended_outcome: str | None = None  # set when this event ended a transaction

    @property
    def changed(self) -> bool:
        return self.state is not self.state_from


@dataclass(frozen=True)
class _Timer:
    token: int
    scope: frozenset[State]


# Which states each timer survives in; leaving its scope cancels it.
_TIMER_SCOPES: dict[str, frozenset[State]] = {
    "scan": frozenset({S.READING_DOCUMENT, S.CHECKING}),
    "walk_in": frozenset({S.ENTRY_OPEN}),
    "finger": frozenset({S.INSIDE}),
    "face": frozenset({S.FACE}),
    "supervisor": frozenset({S.AWAITING_SUPERVISOR}),
    "walk_out": frozenset({S.RETURN_TO_COUNTER, S.EXIT_OPEN}),
    # A door movement is timed wherever it was commanded, until it arrives or the gate faults.
    "door_entry": frozenset(State) - {S.EMERGENCY, S.FAULT},
    "door_exit": frozenset(State) - {S.EMERGENCY, S.FAULT},
}


@dataclass
class Step:
    """Effects collected while one event is handled."""

    now_ms: int
    effects: list[fx.Effect] = field(default_factory=list)
    reason: str | None = None
    ended_outcome: str | None = None


class MachineCore:
    """Runs the transition table; subclassed by ``GateMachine``, which supplies the SOP steps.

    :param config: timeouts, retry limit and anti-passback window (``GateConfig``).
    :param passback: a shared anti-passback memory; a private one (config window) when omitted.
    """

    def __init__(
        self,
        config: GateConfig | None = None,
        *,
        passback: PassbackMemory | None = None,
    ) -> None:
        self.config = config or GateConfig()
        self.passback = (
            passback if passback is not None else PassbackMemory(self.config.ms(self.config.passback_window_s))
        )
        self.metrics = GateMetrics()
        self._state = S.IDLE
        self._since_ms = 0
        self._rows = index(TRANSITIONS)
        self._doors: dict[DoorName, str] = {"entry": "closed", "exit": "closed"}
        self._moving: set[DoorName] = set()
        self._occupants = 0
        self._emergency_input = False
        self._fault_input = False
        self._alarm: str | None = None
        self._timers: dict[str, _Timer] = {}
        self._tokens = 0
        self._transactions = 0
        self.transaction: Transaction | None = None
        self._published: GateState | None = None  # the state last handed out for publishing
        self._standards = step_standards_ms(
            self.config.ms(self.config.scan_standard_s),
            self.config.ms(self.config.door_standard_s),
        )
        self._check_table()

    # ------------------------------------------------------------------ public surface

    @property
    def state(self) -> State:
        return self._state

    @property
    def since_ms(self) -> int:
        return self._since_ms

    @property
    def doors(self) -> dict[DoorName, str]:
        """Each door's last reported end position: "open", "closed" or "locked"."""
        return dict(self._doors)

    @property
    def alarm(self) -> str | None:
        """The active supervisor alarm, if any; it stays until acknowledged or reset."""
        return self._alarm

    @property
    def occupants(self) -> int:
        return self._occupants

    @property
    def emergency_input(self) -> bool:
        return self._emergency_input

    @property
    def fault_input(self) -> bool:
        return self._fault_input

    @property
    def doors_shut(self) -> bool:
        """Both doors closed or locked, and neither moving."""
        return all(p in _SHUT for p in self._doors.values()) and not self._moving

    def retries_left(self) -> int:
        return self._retries_left()

    def allowed_events(self) -> set[str]:
        """Events with at least one row from the current state (guards not evaluated)."""
        return {event for (source, event) in self._rows if source is self._state}

    def accepted_commands(self) -> tuple[str, ...]:
        """The supervisor commands the gate would accept now, guards evaluated (a command's
        reason is taken as given: central refuses one without a reason before it signs)."""
        accepted = []
        for action in SUPERVISOR_ACTIONS:
            probe = SupervisorCommand(action=action, issued_by="probe", reason="probe")  # type: ignore[arg-type]
            rows = self._rows.get((self._state, action), [])
            if any(all(self._fact(term, probe) is want for term, want in row.guard_terms()) for row in rows):
                accepted.append(action)
        return tuple(accepted)

    def start(self, now_ms: int) -> Decision:
        """Announce the initial state: indicator, screen message and retained state."""
        self._since_ms = now_ms
        step = Step(now_ms)
        step.effects += [
            fx.Indicate(INDICATORS[self._state]),
            fx.ShowMessage(self._state.value),
        ]
        self._publish_state(step)
        return Decision("start", self._state, self._state, tuple(step.effects))

    def handle(self, event: GateInput, now_ms: int) -> Decision:
        """Apply one event at ``now_ms`` (milliseconds on the injected clock). Never raises."""
        try:
            return self._handle(event, now_ms)
        except Exception:  # a bug here must leave the gate safe and alarmed, not dead
            log.exception("gate %s: internal error handling %s in %s", self.config.gate_id, event.name, self._state)
            return self._fail_safe(event.name, now_ms)

    def _fail_safe(self, name: str, now_ms: int) -> Decision:
        """Go to ``fault`` with an alarm after an internal error; doors are left to the hardware."""
        source = self._state
        self.metrics.internal_errors += 1
        step = Step(now_ms)
        self._cancel_all_timers(step)
        self._state = S.FAULT
        self._since_ms = now_ms
        if self.transaction is not None:
            self.transaction.set_outcome("fault", "internal_error")
        self._raise_alarm("internal_error", step)
        self._end_transaction(step)
        step.effects += [fx.ShowMessage("fault"), fx.Indicate(INDICATORS[S.FAULT])]
        self._publish_state(step)
        return Decision(name, source, S.FAULT, tuple(step.effects), accepted=False, rejected="internal error")

    def _handle(self, event: GateInput, now_ms: int) -> Decision:
        name = event.name
        source = self._state
        step = Step(now_ms)
        self._observe(event, step)
        if isinstance(event, TimerExpired):
            live = self._timers.get(event.timer)
            if live is None or live.token != event.token:
                # Cancelled or restarted and fired late: harmless, accepted and ignored.
                log.debug("gate %s: stale timer %s", self.config.gate_id, event.timer)
                return Decision(name, source, source, tuple(step.effects))
            del self._timers[event.timer]
        rows = self._rows.get((source, name), [])
        failed: list[str] = []
        for row in rows:
            missing = [term for term, want in row.guard_terms() if self._fact(term, event) is not want]
            if not missing:
                return self._apply(row, event, step)
            failed.append(row.guard or "")
        if name in OBSERVATIONS:
            # A door that arrived or an input that cleared changes what the console shows (door
            # positions, the commands the gate now accepts) even when no row acts on it.
            if self.gate_state(now_ms) != self._published:
                self._publish_state(step)
            return Decision(name, source, source, tuple(step.effects))
        reason = f"{name} not allowed in {source.value}" + (f" (needs {' or '.join(failed)})" if failed else "")
        self.metrics.rejected_events[f"{source.value}:{name}"] += 1
        log.warning("gate %s: rejected event: %s", self.config.gate_id, reason)
        return Decision(name, source, source, tuple(step.effects), accepted=False, rejected=reason)

    def gate_state(self, now_ms: int) -> GateState:
        txn = self.transaction
        return GateState(
            state=self._state.value,
            entry_door=self._door_report("entry"),
            exit_door=self._door_report("exit"),
            since_ms=max(0, self._since_ms),
            direction=self.config.direction,
            transaction_id=txn.transaction_id if txn else None,
            traveler=txn.traveler if txn else None,
            alarm=self._alarm,
            retries=min(20, txn.total_retries) if txn else 0,
            commands=self.accepted_commands(),
        )

    # ------------------------------------------------------------------ the engine

    def _apply(self, row: Transition, event: GateInput, step: Step) -> Decision:
        source = self._state
        if row.target is not None:
            self._cancel_timers_outside(row.target, step)
        if row.action:
            getattr(self, f"_do_{row.action}")(event, step)
        if row.target is None:
            if step.effects:
                self._publish_state(step)
            return Decision(
                event.name,
                source,
                source,
                tuple(step.effects),
                row=row,
                ended_outcome=step.ended_outcome,
            )
        self._state = row.target
        self._since_ms = step.now_ms
        step.effects.append(fx.Publish(self._event(event.name, step, state_from=source, details={"sop": row.sop})))
        getattr(self, f"_enter_{row.target.value}")(step)
        step.effects.append(fx.Indicate(INDICATORS[self._state]))
        self._publish_state(step)
        log.info(
            "gate %s: %s --%s--> %s",
            self.config.gate_id,
            source.value,
            event.name,
            self._state.value,
        )
        return Decision(
            event.name,
            source,
            self._state,
            tuple(step.effects),
            row=row,
            ended_outcome=step.ended_outcome,
        )

    def _observe(self, event: GateInput, step: Step) -> None:
        """Keep the machine's picture of the world current, whatever the state."""
        if isinstance(event, DoorEvent):
            door = event.door
            if event.kind == "door_opened":
                self._doors[door] = "open"
            elif event.kind == "door_closed":
                if self._doors[door] != "locked":
                    self._doors[door] = "closed"
            elif event.kind == "door_locked":
                self._doors[door] = "locked"
            elif event.kind == "door_unlocked" and self._doors[door] == "locked":
                self._doors[door] = "closed"
            if event.kind in ("door_opened", "door_closed", "door_obstructed"):
                self._moving.discard(door)
                self._cancel_timer(f"door_{door}", step)
                self._end_door_step(door, event.kind, step.now_ms)
        elif isinstance(event, PersonEvent):
            if event.kind == "person_entered":
                self._occupants += 1
            elif event.kind in ("person_exited", "person_backed_out"):
                self._occupants = max(0, self._occupants - 1)
            elif event.kind == "mantrap_clear":
                self._occupants = 0
            elif event.kind == "tailgating":
                # The beams saw two bodies but may have counted one entry: trust the larger number.
                self._occupants = max(self._occupants, 2)
        elif isinstance(event, EmergencyInput):
            self._emergency_input = event.active
            if event.active:
                # The hardware releases the doors by itself; they will be open, not moving.
                self._moving.clear()
        elif isinstance(event, FaultInput):
            self._fault_input = event.active

    # ------------------------------------------------------------------ guards (named facts)

    def _fact(self, name: str, event: GateInput) -> bool:
        fact = FACTS.get(name)
        if fact is None:  # the import-time check makes this unreachable
            raise TransitionTableError(f"unknown guard {name!r}")
        return bool(fact(self, event))

    def _check_table(self) -> None:
        for row in TRANSITIONS:
            for term, _ in row.guard_terms():
                if term not in FACTS:
                    raise TransitionTableError(f"row {row}: unknown guard {term!r}")
            if row.action and not hasattr(self, f"_do_{row.action}"):
                raise TransitionTableError(f"row {row}: unknown action {row.action!r}")

    # ------------------------------------------------------------------ helpers

    def _txn(self) -> Transaction:
        if self.transaction is None:  # a state in TRANSACTION_STATES always has one
            self.transaction = Transaction(
                transaction_id=f"{self.config.gate_id}-orphan-{self._since_ms}",
                started_ms=self._since_ms,
            )
        return self.transaction

    def _retries_left(self) -> int:
        txn = self.transaction
        if txn is None or txn.failed_step is None:
            return 0
        return max(0, self.config.max_retries - txn.retries[txn.failed_step])

    def _refuse(self, outcome: str, reason: str, step: Step) -> None:
        txn = self._txn()
        txn.end_step("document_scan", step.now_ms)
        txn.set_outcome(outcome, reason)
        step.reason = reason
        # The screen shows the refusal, not the idle greeting (see _enter_idle).
        step.effects.append(fx.ShowMessage(outcome))

    def _end_transaction(self, step: Step) -> None:
        txn = self.transaction
        if txn is None:
            return
        txn.set_outcome("aborted", "no_outcome")  # unreachable through the table; kept total
        txn.end_step("total", step.now_ms)
        for open_step in list(txn._open_steps):
            txn.end_step(open_step, step.now_ms)
        self.metrics.outcomes[txn.outcome or "aborted"] += 1
        self.metrics.record_timings(txn.timings_ms, self._standards)
        details: dict[str, Any] = {f"t_{k}"[:64]: v for k, v in txn.timings_ms.items()}
        details["outcome"] = txn.outcome
        if txn.released_by:
            details["released_by"] = txn.released_by
        step.effects.append(fx.Publish(self._event("transaction_ended", step, reason=txn.outcome, details=details)))
        step.ended_outcome = txn.outcome
        self.transaction = None

    def _publish_state(self, step: Step) -> None:
        self._published = self.gate_state(step.now_ms)
        step.effects.append(fx.PublishState(self._published))

    def _message(self, step: Step, key: str) -> None:
        if any(isinstance(e, fx.ShowMessage) for e in step.effects) and key == "idle":
            return  # a refusal message stays on screen instead of the greeting
        step.effects.append(fx.ShowMessage(key))

    def _raise_alarm(self, alarm: str, step: Step, details: dict[str, Any] | None = None) -> None:
        self._alarm = alarm
        step.effects.append(fx.Publish(self._event("alarm_raised", step, reason=alarm, details=details or {})))

    def _open_door(self, door: DoorName, timing_step: str | None, step: Step) -> None:
        other = other_door(door)
        if self._doors[other] not in _SHUT or other in self._moving:
            # The hardware interlock would refuse too; the machine never even asks.
            self.metrics.unsafe_commands_suppressed += 1
            log.error(
                "gate %s: refused to open %s while %s is %s",
                self.config.gate_id,
                door,
                other,
                self._doors[other],
            )
            self._raise_alarm("interlock", step, details={"door": door})
            return
        if self._doors[door] == "open":
            return
        self._command(door, DoorAction.OPEN, timing_step, step)

    def _close_door(self, door: DoorName, timing_step: str | None, step: Step) -> None:
        if self._emergency_input:
            return  # nothing closes while the fire alarm is active
        if door in self._moving or self._doors[door] in _SHUT:
            return  # already closing, or shut
        self._command(door, DoorAction.CLOSE, timing_step, step)

    def _command(self, door: DoorName, action: DoorAction, timing_step: str | None, step: Step) -> None:
        self._moving.add(door)
        if timing_step and self.transaction is not None:
            self.transaction.start_step(timing_step, step.now_ms)
        step.effects.append(fx.Door(DoorCommand(door, action)))
        self._start_timer(f"door_{door}", self.config.door_timeout_s, step)

    def _end_door_step(self, door: DoorName, kind: str, now_ms: int) -> None:
        txn = self.transaction
        if txn is None:
            return
        names = ("entry_door_open", "entry_door_reopen") if door == "entry" else ("exit_door_open",)
        if kind == "door_opened":
            for name in names:
                txn.end_step(name, now_ms)
        elif kind == "door_closed" and door == "entry":
            txn.end_step("entry_door_close", now_ms)
            txn.end_step("entry_door_reclose", now_ms)

    def _door_report(self, door: DoorName) -> Any:
        return "moving" if door in self._moving else self._doors[door]

    def _start_timer(self, name: str, seconds: float, step: Step) -> None:
        self._cancel_timer(name, step)
        self._tokens += 1
        self._timers[name] = _Timer(self._tokens, _TIMER_SCOPES[name])
        step.effects.append(fx.StartTimer(name, self._tokens, step.now_ms + self.config.ms(seconds)))

    def _cancel_timer(self, name: str, step: Step) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            step.effects.append(fx.CancelTimer(name, timer.token))

    def _cancel_timers_outside(self, target: State, step: Step) -> None:
        for name, timer in list(self._timers.items()):
            if target not in timer.scope:
                self._cancel_timer(name, step)

    def _cancel_all_timers(self, step: Step) -> None:
        for name in list(self._timers):
            self._cancel_timer(name, step)

    def _event(
        self,
        event: str,
        step: Step,
        *,
        state_from: State | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> GateEvent:
        txn = self.transaction
        return GateEvent(
            event=event,
            transaction_id=txn.transaction_id if txn else None,
            state_from=state_from.value if state_from else None,
            state_to=self._state.value if state_from else None,
            reason=(reason if reason is not None else step.reason),
            traveler=txn.traveler if txn else None,
            details={k: v for k, v in (details or {}).items()},
        )

    def _audit(
        self,
        event: str,
        command: SupervisorCommand,
        step: Step,
        details: dict[str, Any] | None = None,
    ) -> GateEvent:
        """An audited supervisor action: who, why and which command."""
        merged: dict[str, Any] = {
            "issued_by": command.issued_by,
            "command_id": command.command_id,
        }
        merged.update(details or {})
        return self._event(event, step, reason=(command.reason or command.action)[:64], details=merged)
