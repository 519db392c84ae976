"""Hypothesis stateful tests of the machine's safety invariants.

Two worlds: the pure machine fed arbitrary events in any order (a confused or hostile device), and
the runtime on SimulatedGateHardware with travelers, supervisors, fire alarms and jams.
Invariants: the machine never commands a door open while the other is not shut; the two doors
are never both open outside an emergency; a held traveler always has an unacknowledged alarm or an
audited acknowledgement; every transaction ends in exactly one outcome; an emergency always
releases every door and raises an alarm.
"""

from __future__ import annotations

from collections import Counter

from gate_harness import TRAVELER, bio  # type: ignore[import-not-found]
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from edge.gate import effects as fx
from edge.gate.config import GateConfig
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
    PersonEvent,
    SupervisorCommand,
    TimerExpired,
)
from edge.gate.machine import GateMachine
from edge.gate.messages import MESSAGES
from edge.gate.states import TRANSACTION_STATES, State
from edge.hardware.base import DoorAction
from edge.hardware.errors import SimulationError
from protocol.messages import GateEvent
from simulators.scenarios import SimWorld

ACTIONS = [
    "grant_retry",
    "send_to_counter",
    "release_held",
    "acknowledge_alarm",
    "out_of_service",
    "back_in_service",
    "reset",
]
DOORS = st.sampled_from(["entry", "exit"])

EVENTS = st.one_of(
    st.just(DocumentPresented()),
    st.sampled_from([DocumentRead(TRAVELER), DocumentRead(None, "unreadable")]),
    st.builds(
        DocumentChecked,
        accepted=st.booleans(),
        watchlist_level=st.sampled_from(["identical", "similar", "none"]),
    ),
    st.just(FingerPlaced()),
    st.builds(
        lambda m, u: FingerprintResult(bio("fingerprint", m, u)),
        st.booleans(),
        st.booleans(),
    ),
    st.just(FacePresented()),
    st.builds(lambda m: FaceResult(bio("face", m)), st.booleans()),
    st.builds(
        DoorEvent,
        st.sampled_from(
            [
                "door_opened",
                "door_closed",
                "door_locked",
                "door_unlocked",
                "door_obstructed",
            ]
        ),
        DOORS,
    ),
    st.builds(
        PersonEvent,
        st.sampled_from(
            [
                "person_entered",
                "person_exited",
                "person_backed_out",
                "mantrap_clear",
                "tailgating",
            ]
        ),
    ),
    st.builds(EmergencyInput, st.booleans()),
    st.builds(FaultInput, st.booleans(), DOORS),
    st.builds(
        SupervisorCommand,
        st.sampled_from(ACTIONS),
        st.just("spv"),
        st.sampled_from(["", "officer secured"]),
    ),
)


class OutcomeLedger:
    """Checks transaction_started / transaction_ended pairs from published events."""

    def __init__(self) -> None:
        self.started: Counter[str] = Counter()
        self.ended: Counter[str] = Counter()

    def feed(self, payloads: list[object]) -> None:
        for p in payloads:
            if isinstance(p, GateEvent) and p.transaction_id:
                if p.event == "transaction_started":
                    self.started[p.transaction_id] += 1
                elif p.event == "transaction_ended":
                    self.ended[p.transaction_id] += 1
                    assert p.reason, "a transaction ended without an outcome"

    def check(self, open_transaction: str | None) -> None:
        assert all(n == 1 for n in self.started.values())
        assert all(n == 1 for n in self.ended.values()), "a transaction ended twice"
        assert set(self.ended) <= set(self.started)
        assert set(self.started) - set(self.ended) <= ({open_transaction} if open_transaction else set())


class PureMachineFuzz(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.machine = GateMachine(GateConfig(max_retries=1))
        self.now = 0
        self.ledger = OutcomeLedger()
        self.timers: dict[str, int] = {}

    def _send(self, event: object, *, doors_answer: bool = True) -> None:
        queue = [event]
        while queue:
            current = queue.pop(0)
            queue += self._send_one(current, doors_answer=doors_answer)

    def _send_one(self, event: object, *, doors_answer: bool) -> list[object]:
        before_doors = self.machine.doors
        before_moving = set(self.machine._moving)
        state_before = self.machine.state
        decision = self.machine.handle(event, self.now)  # type: ignore[arg-type]
        moved: set[str] = set()
        follow: list[object] = []
        for effect in decision.effects:
            if isinstance(effect, fx.Door):
                door = effect.command.door
                other = "exit" if door == "entry" else "entry"
                if effect.command.action is DoorAction.OPEN:
                    assert before_doors[other] in ("closed", "locked"), (
                        f"open {door} while {other} {before_doors[other]}"
                    )
                    assert other not in before_moving and other not in moved
                moved.add(door)
                if doors_answer:  # doors that arrive at once, like the instant simulator
                    kind = {
                        "open": "door_opened",
                        "close": "door_closed",
                        "lock": "door_locked",
                        "unlock": "door_unlocked",
                    }
                    follow.append(DoorEvent(kind[effect.command.action.value], door))  # type: ignore[arg-type]
            elif isinstance(effect, fx.StartTimer):
                self.timers[effect.timer] = effect.token
            elif isinstance(effect, fx.ShowMessage):
                assert effect.key in MESSAGES, f"no screen text for {effect.key!r}"
        self.ledger.feed([e.payload for e in decision.effects if isinstance(e, fx.Publish)])
        if isinstance(event, EmergencyInput) and event.active and state_before is not State.EMERGENCY:
            assert self.machine.state is State.EMERGENCY
            assert isinstance(decision.effects[0], fx.ReleaseAll)
            assert self.machine.alarm is not None
        return follow

    @rule(level=st.sampled_from(["identical", "none"]), accepted=st.booleans())
    def plausible_scan(self, level: str, accepted: bool) -> None:
        """A realistic prefix, so deep states (held, awaiting_supervisor) are reached often."""
        self._send(DocumentPresented())
        self._send(DocumentRead(TRAVELER))
        self._send(DocumentChecked(accepted=accepted, watchlist_level=level))  # type: ignore[arg-type]
        self._send(PersonEvent("person_entered"))

    @rule(event=EVENTS, dt=st.integers(0, 70_000), doors_answer=st.booleans())
    def event(self, event: object, dt: int, doors_answer: bool) -> None:
        self.now += dt
        self._send(event, doors_answer=doors_answer)

    @precondition(lambda self: bool(self.timers))
    @rule(data=st.data())
    def fire_timer(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.timers)))
        self._send(TimerExpired(name, self.timers.pop(name)))

    @invariant()
    def held_has_alarm_or_audit(self) -> None:
        if self.machine.state is State.HELD:
            txn = self.machine.transaction
            assert self.machine.alarm == "cekal_identik" or (txn is not None and txn.acknowledged_by)

    @invariant()
    def transaction_iff_transaction_state(self) -> None:
        assert (self.machine.transaction is not None) == (self.machine.state in TRANSACTION_STATES)

    @invariant()
    def outcomes_exactly_once(self) -> None:
        txn = self.machine.transaction
        self.ledger.check(txn.transaction_id if txn else None)


TestPureMachineFuzz = PureMachineFuzz.TestCase
TestPureMachineFuzz.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class GateWorld(RuleBasedStateMachine):
    """The runtime on simulated hardware, with travelers and supervisors acting at random."""

    def __init__(self) -> None:
        super().__init__()
        self.world = SimWorld(seed=3)
        self.hw = self.world.hardware
        self.rt = self.world.runtime
        self.world.watchlist.identical["C7654321"] = "cekal-x"
        self.ledger = OutcomeLedger()
        self.fed = 0
        self.jammed: set[str] = set()

    @precondition(lambda self: self.rt.state == "idle")
    @rule(cekal=st.booleans(), finger=st.sampled_from(["genuine", "mismatch"]))
    def journey(self, cekal: bool, finger: str) -> None:
        """A whole traveler through the driver, so held and the supervisor states are reached."""
        overrides: dict[str, object] = {"finger_samples": (finger,)}
        if cekal:
            overrides["document_number"] = "C7654321"
        try:
            self.world.driver.run_traveler(self.world.traveler(**overrides))
        except RuntimeError:
            pass  # a jammed door can stop the walk; the invariants still apply

    @rule(kind=st.sampled_from(["ok", "unreadable", "expired", "cekal"]))
    def present(self, kind: str) -> None:
        overrides: dict[str, object] = {}
        if kind == "unreadable":
            overrides["document_readable"] = False
        elif kind == "expired":
            overrides["expired"] = True
        elif kind == "cekal":
            overrides["document_number"] = "C7654321"
        self.rt.present_document(self.world.traveler(**overrides).presented())

    @rule(who=st.sampled_from(["enter", "exit", "back", "tailgate"]))
    def walk(self, who: str) -> None:
        act = {
            "enter": self.hw.person_enters,
            "exit": self.hw.person_exits,
            "back": self.hw.person_backs_out,
            "tailgate": self.hw.tailgate,
        }[who]
        try:
            act()
        except SimulationError:
            pass  # the world forbids it (door not open, nobody inside): nothing happened

    @rule(sample=st.sampled_from(["genuine", "mismatch", "unreadable"]))
    def finger(self, sample: str) -> None:
        self.rt.place_finger(sample)

    @rule(sample=st.sampled_from(["genuine", "mismatch"]))
    def face(self, sample: str) -> None:
        self.rt.show_face(sample)

    @rule(seconds=st.sampled_from([0.3, 1.0, 2.5, 25.0, 70.0]))
    def wait(self, seconds: float) -> None:
        self.world.driver.advance(seconds)

    @rule(
        action=st.sampled_from(ACTIONS),
        reason=st.sampled_from(["", "checked by officer"]),
    )
    def supervisor(self, action: str, reason: str) -> None:
        self.world.driver.command(action, reason=reason)

    @rule(active=st.booleans())
    def fire_alarm(self, active: bool) -> None:
        was = self.rt.state
        self.hw.fire_alarm(active)
        if active and was != "emergency":
            assert self.rt.state == "emergency"
            assert self.world.machine.alarm is not None
            self.world.driver.advance(1.0)
            for door, position in self.hw.door_positions.items():
                if door not in self.jammed:
                    assert position == "open", f"{door} not released: {position}"

    @rule(door=DOORS, jammed=st.booleans())
    def jam(self, door: str, jammed: bool) -> None:
        self.hw.jam_door(door, jammed)  # type: ignore[arg-type]
        (self.jammed.add if jammed else self.jammed.discard)(door)

    @invariant()
    def doors_never_both_open_outside_emergency(self) -> None:
        positions = self.hw.door_positions
        if positions["entry"] == "open" and positions["exit"] == "open":
            assert self.rt.state == "emergency"

    @invariant()
    def held_has_alarm_or_audit(self) -> None:
        if self.rt.state == "held":
            txn = self.world.machine.transaction
            assert self.world.machine.alarm == "cekal_identik" or (txn is not None and txn.acknowledged_by)

    @invariant()
    def outcomes_exactly_once(self) -> None:
        new = self.world.link.events[self.fed :]
        self.fed = len(self.world.link.events)
        self.ledger.feed(list(new))
        txn = self.world.machine.transaction
        self.ledger.check(txn.transaction_id if txn else None)


TestGateWorld = GateWorld.TestCase
TestGateWorld.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
