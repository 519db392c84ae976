"""The gate runtime: performs the machine's effects and feeds the world back to it as events.

``GateRuntime`` owns no devices. It is given the hardware (``GateHardware``), the link to central
(``GateLink``), the recognition steps (``Recognition``) and a scheduler (``now_s`` +
``call_later``; ``ManualScheduler`` in tests and the simulator, ``ThreadScheduler`` in production),
and it:

- turns ``HardwareEvent``s into machine events, and executes door commands on the hardware;
- runs recognition when the machine requests it and feeds the result back: on the calling thread
  in simulations (deterministic traces), on ``Recognition.runner``'s worker in production so a
  100 ms face or fingerprint step never delays a door or an emergency input. A result is
  accepted only for the request it answers (same transaction, latest request of that kind);
  a late answer for a traveler who has gone is dropped;
- publishes GateEvents, CrossingRecords and GateState through the link;
- answers supervisor commands with a ``CommandAck`` (accepted, or refused with the reason);
- runs the machine's timers on the scheduler.

All machine input goes through one queue drained by one thread at a time, so events raised while
an effect runs (a simulated door that arrives at once) are handled after the current event, in
order. A hardware listener never blocks on the runtime: it queues, and whoever holds the drain
lock handles it, so hardware threads and the link thread cannot deadlock. An active emergency
input jumps the queue.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.gate import effects as fx
from edge.gate.errors import RuntimeStopped
from edge.gate.events import (
    DocumentChecked,
    DocumentPresented,
    DocumentRead,
    DoorEvent,
    EmergencyInput,
    FacePresented,
    FaceResult,
    FaultInput,
    FingerPlaced,
    FingerprintResult,
    GateInput,
    PersonEvent,
    SupervisorCommand,
    TimerExpired,
)
from edge.gate.machine import Decision, GateMachine
from edge.gate.recognition import PresentedDocument, Recognition, Verdict, traveler_from_mrz
from edge.gate.states import State
from edge.hardware.base import GateHardware, HardwareEvent, HardwareEventKind
from edge.hardware.clock import Cancellable, Scheduler
from edge.hardware.errors import HardwareError
from edge.link.base import GateLink
from edge.link.errors import OutboxError
from protocol.messages import BiometricResult, Command, CommandAck, FaceEvidence, TravelerDocument

log = logging.getLogger(__name__)

_DOOR_EVENTS = {
    HardwareEventKind.DOOR_OPENED: "door_opened",
    HardwareEventKind.DOOR_CLOSED: "door_closed",
    HardwareEventKind.DOOR_LOCKED: "door_locked",
    HardwareEventKind.DOOR_UNLOCKED: "door_unlocked",
    HardwareEventKind.DOOR_OBSTRUCTED: "door_obstructed",
}
_PERSON_EVENTS = {
    HardwareEventKind.PERSON_ENTERED: "person_entered",
    HardwareEventKind.PERSON_EXITED: "person_exited",
    HardwareEventKind.PERSON_BACKED_OUT: "person_backed_out",
    HardwareEventKind.MANTRAP_CLEAR: "mantrap_clear",
    HardwareEventKind.TAILGATING: "tailgating",
}


@dataclass(frozen=True)
class TraceRecord:
    """One line of the gate's trace: a state change or a door command, at ``t`` seconds."""

    t: float
    state: str
    entry: str
    exit: str
    event: str
    state_from: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": round(self.t, 3),
            "state": self.state,
            "entry": self.entry,
            "exit": self.exit,
            "event": self.event,
        }
        if self.state_from is not None:
            out["from"] = self.state_from
        if self.detail:
            out["detail"] = self.detail
        return out


Observer = Callable[[TraceRecord], None]


def hardware_to_event(event: HardwareEvent) -> GateInput | None:
    """The machine event for one hardware event (None for those the machine does not need)."""
    if event.kind in _DOOR_EVENTS and event.door is not None:
        return DoorEvent(_DOOR_EVENTS[event.kind], event.door)  # type: ignore[arg-type]
    if event.kind in _PERSON_EVENTS:
        return PersonEvent(_PERSON_EVENTS[event.kind], event.detail)  # type: ignore[arg-type]
    if event.kind is HardwareEventKind.EMERGENCY:
        return EmergencyInput(True, event.detail)
    if event.kind is HardwareEventKind.EMERGENCY_CLEARED:
        return EmergencyInput(False, event.detail)
    if event.kind in (HardwareEventKind.FAULT, HardwareEventKind.DOOR_FAULT):
        return FaultInput(True, event.door, event.detail)
    if event.kind is HardwareEventKind.FAULT_CLEARED:
        return FaultInput(False)
    return None


# What a recognition step returns: the machine's input, plus a face Verdict (for the evidence)
# or the parsed MRZ of a document read.
Answer = tuple[GateInput, Any]


@dataclass(frozen=True)
class _StepOutcome:
    """A recognition result on its way back to the machine, tagged with the request it answers."""

    kind: str
    token: int
    transaction_id: str | None
    result: GateInput
    face_evidence: FaceEvidence | None = None
    mrz: Any = None  # the parsed MRZ of a document read, kept once the read is accepted


class GateRuntime:
    """Drives one gate's ``GateMachine`` with real or simulated devices.

    :param machine: the pure transaction machine (its ``config`` names the gate and direction).
    :param hardware: doors, beams, lights, emergency input; events are subscribed in ``start()``.
    :param link: where events, crossings, acks and state go; commands come from it.
    :param recognition: document reading/checking, watchlist and 1:1 biometrics.
    :param scheduler: the clock and timers (``now_s``, ``call_later``).
    :param time_origin_ms: wall-clock epoch ms at scheduler time 0, for records and command expiry
        (0 in simulations, where times are seconds since the start).
    """

    def __init__(
        self,
        machine: GateMachine,
        *,
        hardware: GateHardware,
        link: GateLink,
        recognition: Recognition,
        scheduler: Scheduler,
        time_origin_ms: int = 0,
    ) -> None:
        self.machine = machine
        self.hardware = hardware
        self.link = link
        self.recognition = recognition
        self.scheduler = scheduler
        self.time_origin_ms = time_origin_ms
        self.gate_id = machine.config.gate_id
        self.message_key: str | None = None
        self.ended_count = 0  # transactions ended since start
        self.last_outcome: str | None = None
        self.engine_failures = 0  # recognition steps that raised (counted, failed closed)
        self._records_failing = False  # the outbox refused a record (disk full) and none succeeded since
        self.decisions: collections.deque[Decision] = collections.deque(maxlen=1000)
        self._queue: collections.deque[GateInput | _StepOutcome] = collections.deque()
        self._request_tokens = itertools.count(1)
        self._pending_steps: dict[str, int] = {}  # step kind -> token of the request in force
        self._step_timers: dict[str, Cancellable] = {}
        self._drain_lock = threading.Lock()
        self._timers: dict[str, tuple[int, Cancellable]] = {}
        self._observers: list[Observer] = []
        self._presented: PresentedDocument | None = None
        self._mrz: Any = None
        self._finger_sample: Any = None
        self._face_sample: Any = None
        self._seen_commands: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Subscribe to hardware events and commands, and announce the initial state."""
        if self._started:
            return
        self._started = True
        self.hardware.on_event(self._on_hardware_event)
        self.link.on_command(self.handle_command)
        with self._drain_lock:
            self._perform(self.machine.start(self.now_ms()))
        self._pump()

    def stop(self) -> None:
        """Cancel timers and ignore further input; the caller closes hardware and link."""
        self._stopped = True
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def add_observer(self, observer: Observer) -> None:
        """Call *observer* with a ``TraceRecord`` for every state change and door command."""
        self._observers.append(observer)

    def now_ms(self) -> int:
        return self.time_origin_ms + round(self.scheduler.now_s() * 1000)

    @property
    def state(self) -> str:
        return self.machine.state.value

    # ------------------------------------------------------------------ the traveler's side

    def present_document(self, document: PresentedDocument) -> None:
        """The passport is laid on the reader (SOP step 3)."""
        if self.machine.state.value == "idle":  # only idle starts a transaction (edge/gate/table.py)
            self._presented = document  # a passport laid mid-transaction never replaces the traveler's
        self.post(DocumentPresented())

    def place_finger(self, sample: Any) -> None:
        """A finger on the sensor; *sample* is whatever the sensor captured (SOP step 5)."""
        self._finger_sample = sample
        self.post(FingerPlaced())

    def show_face(self, sample: Any) -> None:
        """A face in front of the camera (SOP step 6)."""
        self._face_sample = sample
        self.post(FacePresented())

    # ------------------------------------------------------------------ input

    def post(self, event: GateInput) -> None:
        """Queue one machine event and handle it now unless another thread is handling events."""
        if self._stopped:
            raise RuntimeStopped(f"gate {self.gate_id}: runtime stopped")
        if isinstance(event, EmergencyInput) and event.active:
            self._queue.appendleft(event)  # an emergency never waits behind other work
        else:
            self._queue.append(event)
        self._pump()

    def handle_command(self, command: Command) -> CommandAck:
        """Apply a verified supervisor command; refused ones say why (expired, wrong state...)."""
        refusal = self._precheck(command)
        if refusal is not None:
            log.warning(
                "gate %s: command %s refused: %s",
                self.gate_id,
                command.command_id,
                refusal,
            )
            return CommandAck(
                command_id=command.command_id,
                accepted=False,
                reason=refusal,
                state_after=self.state,
            )
        event = SupervisorCommand(
            action=command.action.value,  # type: ignore[arg-type]
            issued_by=command.issued_by,
            reason=command.reason,
            command_id=command.command_id,
        )
        with self._drain_lock:
            decision = self._handle(event)
            self._drain_queue()
        self._pump()
        accepted = decision.accepted
        reason = decision.rejected or ""
        log.info(
            "gate %s: command %s %s by %s: %s",
            self.gate_id,
            command.action,
            command.command_id,
            command.issued_by,
            "accepted" if accepted else reason,
        )
        return CommandAck(
            command_id=command.command_id,
            accepted=accepted,
            reason=reason[:200],
            state_after=self.state,
        )

    def _precheck(self, command: Command) -> str | None:
        if command.gate_id != self.gate_id:
            return f"command for gate {command.gate_id}, this is {self.gate_id}"
        if command.expires_at_ms < self.now_ms():
            return "expired"
        if command.command_id in self._seen_commands:
            return "duplicate command id"
        self._seen_commands[command.command_id] = None
        while len(self._seen_commands) > 10_000:
            self._seen_commands.popitem(last=False)
        if command.action.value == "release_held" and not command.reason.strip():
            return "release_held needs a reason"
        return None

    def _on_hardware_event(self, event: HardwareEvent) -> None:
        mapped = hardware_to_event(event)
        if mapped is not None and not self._stopped:
            self.post(mapped)

    def _pump(self) -> None:
        while self._queue:
            if not self._drain_lock.acquire(blocking=False):
                return  # the thread holding the lock drains what we queued
            try:
                self._drain_queue()
            finally:
                self._drain_lock.release()

    def _drain_queue(self) -> None:
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, _StepOutcome):
                if not self._answers_pending_request(item):
                    continue
                if item.face_evidence is not None:
                    self.link.publish_event(item.face_evidence)
                if item.mrz is not None:
                    self._mrz = item.mrz
                item = item.result
            self._handle(item)

    def _answers_pending_request(self, outcome: _StepOutcome) -> bool:
        txn = self.machine.transaction
        current = txn.transaction_id if txn is not None else None
        if self._pending_steps.get(outcome.kind) != outcome.token or current != outcome.transaction_id:
            log.info("gate %s: late %s result dropped (its transaction or request is over)", self.gate_id, outcome.kind)
            return False
        del self._pending_steps[outcome.kind]
        timer = self._step_timers.pop(outcome.kind, None)
        if timer is not None:
            timer.cancel()
        return True

    def _handle(self, event: GateInput) -> Decision:
        decision = self.machine.handle(event, self.now_ms())
        self.decisions.append(decision)
        if decision.ended_outcome is not None:
            self.ended_count += 1
            self.last_outcome = decision.ended_outcome
        if decision.changed:
            self._trace(decision.event, state_from=decision.state_from.value)
        elif isinstance(event, DoorEvent) and event.kind != "door_obstructed":
            self._trace(event.kind, detail=event.door)  # a door arrived: the trace shows it move
        self._perform(decision)
        return decision

    # ------------------------------------------------------------------ effects

    def _perform(self, decision: Decision) -> None:
        for effect in decision.effects:
            try:
                self._perform_one(effect)
                if isinstance(effect, fx.Publish):
                    self._records_failing = False
            except HardwareError as exc:
                # The machine's picture of the doors was wrong, or a device failed: fault.
                log.error("gate %s: hardware refused %s: %s", self.gate_id, effect, exc)
                self._queue.append(FaultInput(True, None, str(exc)[:200]))
            except OutboxError as exc:
                # The gate cannot keep its records (a full disk): nothing after the record may
                # happen (an exit door must not open for a crossing nobody will know of). Fault,
                # so the doors stop and an officer resets the gate once the disk has room.
                # One fault per outage: the fault's own events cannot be recorded either.
                if not self._records_failing:
                    self._records_failing = True
                    log.error("gate %s: cannot record %s, gate goes to fault: %s", self.gate_id,
                              type(getattr(effect, "payload", effect)).__name__, exc)
                    self._queue.append(FaultInput(True, None, f"outbox: {exc}"[:200]))
                    # Latched, not held: nothing tells the gate when the disk has room again, so
                    # the officer's reset is the test (a record that still fails faults again).
                    self._queue.append(FaultInput(False, None, "outbox: the officer may reset"))
                return

    def _perform_one(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.ReleaseAll):
            self.hardware.release_all()
            self._trace("release_all", detail="every door released")
        elif isinstance(effect, fx.Door):
            self._trace(
                "door_command",
                detail=f"{effect.command.door} {effect.command.action.value}",
            )
            self.hardware.execute(effect.command)
        elif isinstance(effect, fx.Indicate):
            self.hardware.indicate(effect.indicator)
        elif isinstance(effect, fx.ShowMessage):
            self.message_key = effect.key
        elif isinstance(effect, fx.Publish):
            self.link.publish_event(effect.payload)
        elif isinstance(effect, fx.PublishState):
            self.link.publish_state(effect.state)
        elif isinstance(effect, fx.StartTimer):
            self._start_timer(effect)
        elif isinstance(effect, fx.CancelTimer):
            live = self._timers.get(effect.timer)
            if live is not None and live[0] == effect.token:
                live[1].cancel()
                del self._timers[effect.timer]
        elif isinstance(effect, fx.Request):
            self._request(effect.kind)

    def _start_timer(self, effect: fx.StartTimer) -> None:
        old = self._timers.pop(effect.timer, None)
        if old is not None:
            old[1].cancel()
        delay_s = max(0.0, (effect.deadline_ms - self.now_ms()) / 1000)
        expired = TimerExpired(effect.timer, effect.token)

        def fire() -> None:
            if not self._stopped:
                self.post(expired)

        self._timers[effect.timer] = (
            effect.token,
            self.scheduler.call_later(delay_s, fire),
        )

    def _request(self, kind: str) -> None:
        """Start one recognition step; its result comes back through the queue."""
        token = next(self._request_tokens)
        self._pending_steps[kind] = token
        txn = self.machine.transaction
        txn_id = txn.transaction_id if txn is not None else None
        # A held traveler's face goes to the officer whatever it scored (B3: who is held?).
        always_evidence = self.machine.state is State.HELD
        try:
            step = self._prepare_step(kind, evidence=always_evidence)  # inputs are taken now, on the event thread
        except Exception as exc:  # e.g. no traveler: _recognise turns it into a failed step
            step = _raising(exc)
        delay_s = self.recognition.latency_s.get(kind, 0.0)

        def done(outcome: _StepOutcome) -> None:
            if delay_s > 0:
                self.scheduler.call_later(delay_s, lambda: self._deliver(outcome))
            else:
                self._deliver(outcome)

        self.recognition.runner.submit(lambda: self._recognise(kind, token, step, txn_id, always_evidence), done)
        timeout_s = self.recognition.step_timeout_s
        if timeout_s > 0:  # cancelled when the answer is accepted (an inline one is still queued here)
            expired = _StepOutcome(kind, token, txn_id, _failed_step(kind, "engine timeout"))
            self._step_timers[kind] = self.scheduler.call_later(timeout_s, lambda: self._deliver(expired, timed_out=True))

    def _deliver(self, outcome: _StepOutcome, *, timed_out: bool = False) -> None:
        if self._stopped:
            return
        if timed_out and self._pending_steps.get(outcome.kind) == outcome.token:
            log.error("gate %s: %s gave no answer in %.0f s: failed closed", self.gate_id, outcome.kind,
                      self.recognition.step_timeout_s)
            self.engine_failures += 1
        self._queue.append(outcome)
        self._pump()

    def _recognise(self, kind: str, token: int, step: Callable[[], Answer], txn_id: str | None,
                   always_evidence: bool = False) -> _StepOutcome:
        """Run one recognition step (on the runner); an engine failure becomes a failed result
        (fail closed)."""
        try:
            result, extra = step()
        except Exception:  # an engine bug must not kill a gate with a traveler inside
            log.exception("gate %s: recognition step %s failed", self.gate_id, kind)
            self.engine_failures += 1
            return _StepOutcome(kind, token, txn_id, _failed_step(kind, "engine error"))
        if isinstance(extra, Verdict):
            evidence = self._face_evidence(extra, txn_id, always=always_evidence)
            return _StepOutcome(kind, token, txn_id, result, face_evidence=evidence)
        return _StepOutcome(kind, token, txn_id, result, mrz=extra)

    def _face_evidence(self, verdict: Verdict, txn_id: str | None, *, always: bool = False) -> FaceEvidence | None:
        """What the supervisor sees beside the enrolled face; only when an officer must decide
        (a failed face step, or a held traveler: *always*); biometric data leaves the gate only then."""
        if (verdict.result.match and not always) or verdict.captured_jpeg is None or txn_id is None:
            return None
        return FaceEvidence(
            transaction_id=txn_id,
            captured_jpeg=verdict.captured_jpeg,
            enrolled_jpeg=verdict.enrolled_jpeg,
            enrolled_source=verdict.enrolled_source,
            score=verdict.result.score,
            threshold=verdict.result.threshold,
            refused_reason=verdict.result.refused_reason,
        )

    def _prepare_step(self, kind: str, *, evidence: bool = False) -> Callable[[], Answer]:
        """The step as a closure over its inputs, so a worker thread never reads live state."""
        recognition = self.recognition
        today = recognition.today()
        if kind == "read_document":
            presented = self._presented

            def read() -> Answer:
                try:
                    if presented is None:
                        raise ValueError("no document presented")
                    mrz = recognition.reader.read(presented, today=today)
                except ValueError as exc:  # MrzError is a ValueError
                    log.info("gate %s: document unreadable: %s", self.gate_id, type(exc).__name__)
                    return DocumentRead(None, "unreadable"), None
                traveler = traveler_from_mrz(mrz)
                recognition.document_read(traveler)
                return DocumentRead(traveler), mrz

            return read
        if kind == "check_document":
            mrz = self._mrz

            def check() -> Answer:
                decision = recognition.checker.check(mrz, today=today)
                screened = recognition.watchlist.screen(traveler_from_mrz(mrz), today=today)
                return DocumentChecked(
                    accepted=decision.accepted,
                    reasons=tuple(decision.reasons),
                    watchlist_level=screened.level,
                    watchlist_entry=screened.entry_id,
                    watchlist_version=screened.version,
                ), None

            return check
        traveler = self._current_traveler()
        document = self._presented
        if kind == "verify_fingerprint":
            finger = self._finger_sample
            return lambda: (FingerprintResult(_result_of(recognition.fingerprint.verify(finger, traveler))), None)
        face = self._face_sample

        def verify_face() -> Answer:
            if evidence:
                answer = recognition.face.verify(face, traveler, document=document, evidence=True)
            else:
                answer = recognition.face.verify(face, traveler, document=document)
            if isinstance(answer, Verdict):
                return FaceResult(answer.result), answer
            return FaceResult(answer), None

        return verify_face

    def _current_traveler(self) -> TravelerDocument:
        txn = self.machine.transaction
        if txn is None or txn.traveler is None:  # the machine only asks with a traveler known
            raise LookupError("biometric step requested without a traveler")
        return txn.traveler

    def _trace(self, event: str, *, state_from: str | None = None, detail: str | None = None) -> None:
        if not self._observers:
            return
        doors = self.machine.doors
        record = TraceRecord(
            t=self.scheduler.now_s(),
            state=self.machine.state.value,
            entry=doors["entry"],
            exit=doors["exit"],
            event=event,
            state_from=state_from,
            detail=detail,
        )
        for observer in self._observers:
            observer(record)


def _result_of(answer: BiometricResult | Verdict) -> BiometricResult:
    return answer.result if isinstance(answer, Verdict) else answer


def _failed_step(kind: str, reason: str) -> GateInput:
    """A step that gave no usable answer, as the machine's failed result for it (fail closed)."""
    if kind == "read_document":
        return DocumentRead(None, "reader_error")
    if kind == "check_document":
        return DocumentChecked(accepted=False, reasons=("check_error",))
    modality = "fingerprint" if kind == "verify_fingerprint" else "face"
    failed = BiometricResult(modality=modality, match=False, refused_reason=reason)
    return FingerprintResult(failed) if modality == "fingerprint" else FaceResult(failed)


def _raising(exc: Exception) -> Callable[[], Answer]:
    def step() -> Answer:
        raise exc

    return step
