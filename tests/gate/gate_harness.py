"""Helpers for the gate tests: a pure harness for the machine (instant doors, a fake clock) and a
real-time wait for the tests where a worker or device thread acts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from edge.gate import effects as fx
from edge.gate.events import (
    DocumentChecked,
    DocumentPresented,
    DocumentRead,
    DoorEvent,
    FacePresented,
    FaceResult,
    FingerPlaced,
    FingerprintResult,
    GateInput,
    PersonEvent,
    SupervisorCommand,
    TimerExpired,
)
from edge.gate.machine import Decision, GateMachine
from edge.hardware.base import DoorAction
from protocol.messages import (
    BiometricResult,
    CrossingRecord,
    GateEvent,
    TravelerDocument,
)

TRAVELER = TravelerDocument(
    document_number="X1234567",
    document_type="P",
    issuing_state="IDN",
    expiry_date=date(2031, 1, 1),
    given_names="SITI",
    surname="RAHAYU",
    sex="F",
    birth_date=date(1990, 5, 17),
    nationality="IDN",
)


def bio(modality: str, match: bool, unreadable: bool = False) -> BiometricResult:
    return BiometricResult(
        modality=modality,  # type: ignore[arg-type]
        match=match,
        score=None if unreadable else (0.9 if match else 0.1),
        refused_reason="low quality" if unreadable else None,
    )


@dataclass
class Harness:
    """Drives a GateMachine the way the runtime would, with doors that arrive instantly.

    Door commands are answered with the matching door event; timers are kept and fired by
    ``advance``; recognition requests are not answered (the test sends the result).
    """

    machine: GateMachine
    now_ms: int = 0
    decisions: list[Decision] = field(default_factory=list)
    published: list[object] = field(default_factory=list)
    timers: dict[str, tuple[int, int]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    doors_answer: bool = True

    def send(self, event: GateInput) -> Decision:
        decision = self.machine.handle(event, self.now_ms)
        self.decisions.append(decision)
        follow: list[GateInput] = []
        for effect in decision.effects:
            if isinstance(effect, fx.Publish):
                self.published.append(effect.payload)
            elif isinstance(effect, fx.StartTimer):
                self.timers[effect.timer] = (effect.token, effect.deadline_ms)
            elif isinstance(effect, fx.CancelTimer):
                if self.timers.get(effect.timer, (None,))[0] == effect.token:
                    del self.timers[effect.timer]
            elif isinstance(effect, fx.ShowMessage):
                self.messages.append(effect.key)
            elif isinstance(effect, fx.Request):
                self.requests.append(effect.kind)
            elif isinstance(effect, fx.Door) and self.doors_answer:
                kind = {
                    DoorAction.OPEN: "door_opened",
                    DoorAction.CLOSE: "door_closed",
                    DoorAction.LOCK: "door_locked",
                    DoorAction.UNLOCK: "door_unlocked",
                }[effect.command.action]
                follow.append(DoorEvent(kind, effect.command.door))  # type: ignore[arg-type]
        for answer in follow:
            self.send(answer)
        return decision

    def advance(self, ms: int) -> None:
        """Move the clock, firing due timers in deadline order."""
        target = self.now_ms + ms
        while True:
            due = sorted(
                (deadline, name, token) for name, (token, deadline) in self.timers.items() if deadline <= target
            )
            if not due:
                break
            deadline, name, token = due[0]
            del self.timers[name]
            self.now_ms = max(self.now_ms, deadline)
            self.send(TimerExpired(name, token))
        self.now_ms = target

    @property
    def state(self) -> str:
        return self.machine.state.value

    def events(self, name: str) -> list[GateEvent]:
        return [p for p in self.published if isinstance(p, GateEvent) and p.event == name]

    @property
    def crossings(self) -> list[CrossingRecord]:
        return [p for p in self.published if isinstance(p, CrossingRecord)]

    # --- the SOP steps, as a traveler and the devices would produce them

    def scan(
        self,
        *,
        accepted: bool = True,
        level: str = "none",
        traveler: TravelerDocument | None = TRAVELER,
    ) -> None:
        self.send(DocumentPresented())
        self.advance(800)
        self.send(DocumentRead(traveler, None if traveler else "unreadable"))
        if traveler is None:
            return
        self.advance(200)
        self.send(
            DocumentChecked(
                accepted=accepted,
                reasons=() if accepted else ("expired",),
                watchlist_level=level,
                watchlist_entry="w-1" if level != "none" else None,
                watchlist_version=3,
            )
        )  # type: ignore[arg-type]

    def walk_in(self) -> None:
        self.advance(1500)
        self.send(PersonEvent("person_entered"))

    def finger(self, match: bool = True, unreadable: bool = False) -> None:
        self.advance(1000)
        self.send(FingerPlaced())
        self.advance(700)
        self.send(FingerprintResult(bio("fingerprint", match, unreadable)))

    def face(self, match: bool = True) -> None:
        self.advance(500)
        self.send(FacePresented())
        self.advance(500)
        self.send(FaceResult(bio("face", match)))

    def walk_out(self) -> None:
        self.advance(1500)
        self.send(PersonEvent("person_exited"))

    def back_out(self) -> None:
        self.advance(1500)
        self.send(PersonEvent("person_backed_out"))

    def command(self, action: str, reason: str = "", by: str = "spv-1") -> Decision:
        return self.send(
            SupervisorCommand(
                action=action,
                issued_by=by,
                reason=reason,
                command_id=f"c{len(self.decisions)}",
            )
        )  # type: ignore[arg-type]


def wait_real(predicate: Callable[[], bool], limit_s: float = 15.0) -> bool:
    """Wait in real time for *predicate* (a worker or device thread acts; the gate's fake clock
    stands still meanwhile)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
