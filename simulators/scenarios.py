"""Named end-to-end scenarios: one simulated gate, one script, one outcome.

Each scenario builds a fresh world (``SimWorld``: ``ManualScheduler``, ``SimulatedGateHardware``,
a link, simulated recognition, the real ``GateMachine`` and ``GateRuntime``), plays its script
with ``GateDriver`` and returns the trace (every state change and door command) and a summary.
The hardware is pluggable: ``SimWorld(hardware=...)`` takes any ``GateHardware`` driven by the
same scheduler, and ``SimWorld(hardware_kind="doorboard")`` runs the gate on the door board
firmware behind a pty (``LockstepDoorBoard``): the runtime talks to ``DoorBoardGateHardware`` over
the pty, and the travelers' bodies, the fire alarm and jams act on the door plant's inputs
(``world.body``), on one fake clock shared with the firmware.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from edge.gate.config import GateConfig
from edge.gate.machine import GateMachine
from edge.gate.recognition import DocumentNumberWatchlist, Recognition
from edge.gate.runtime import GateRuntime, TraceRecord
from edge.hardware.base import GateHardware
from edge.hardware.clock import ManualScheduler
from edge.hardware.simulated import SimulatedGateHardware
from edge.link.base import DurablePayload, MemoryLink
from protocol.messages import CrossingRecord, GateEvent, GateState
from simulators.devices.doorboard_lockstep import GateBody, LockstepDoorBoard
from simulators.devices.lockstep import SteppedScheduler
from simulators.travelers import GateDriver, SimTraveler, make_traveler

log = logging.getLogger(__name__)

SIM_TODAY = date(2026, 6, 1)
HARDWARE_KINDS = ("simulated", "doorboard")
# How long the simulated devices take, so per-step timings look like a real gate's.
SIM_LATENCY_S = {
    "read_document": 0.8,
    "check_document": 0.2,
    "verify_fingerprint": 0.7,
    "verify_face": 0.5,
}


class OfflineCapableLink(MemoryLink):
    """A MemoryLink with a switch: while offline, durable messages wait in ``outbox`` (as the
    real link's SQLite outbox does) and commands cannot arrive; ``reconnect()`` delivers them."""

    def __init__(self) -> None:
        super().__init__()
        self.online = True
        self.outbox: list[DurablePayload] = []
        self.queued_while_offline = 0

    def publish_event(self, payload: DurablePayload) -> None:
        if self.online:
            super().publish_event(payload)
        else:
            self.queued_while_offline += 1
            self.outbox.append(payload)

    def publish_state(self, state: GateState) -> None:
        if self.online:
            super().publish_state(state)

    def reconnect(self) -> int:
        self.online = True
        sent = len(self.outbox)
        for payload in self.outbox:
            super().publish_event(payload)
        self.outbox.clear()
        return sent


@dataclass
class SettlingGateDriver(GateDriver):
    """A ``GateDriver`` that lets the hardware settle after each supervisor command, so the door
    events a command causes on the door board have landed before the driver looks again."""

    settle: Callable[[], None] | None = None

    def command(self, action: str, reason: str = "", issued_by: str | None = None) -> bool:
        accepted = super().command(action, reason, issued_by)
        if self.settle is not None:
            self.settle()
        return accepted


@dataclass
class SimWorld:
    """One simulated gate with everything it needs, on one fake clock.

    ``hardware_kind`` "simulated" (default) builds ``SimulatedGateHardware`` (unless ``hardware``
    is given); "doorboard" runs the door board firmware behind a pty, in lockstep on the same
    clock. ``body`` is what the travelers act on (the simulated hardware itself, or ``GateBody``
    on the door plant); call ``close()`` when done.
    """

    gate_id: str = "sim-gate-1"
    watchlist: DocumentNumberWatchlist = field(default_factory=DocumentNumberWatchlist)
    config: GateConfig | None = None
    hardware: GateHardware | None = None
    seed: int = 7
    trace: list[TraceRecord] = field(default_factory=list)
    hardware_kind: str = "simulated"

    def __post_init__(self) -> None:
        self.board: LockstepDoorBoard | None = None
        self.body: Any
        settle: Callable[[], None] | None = None
        if self.hardware_kind == "doorboard":
            if self.hardware is not None:
                raise ValueError("hardware_kind 'doorboard' builds its own hardware")
            stepped = SteppedScheduler()
            self.scheduler: ManualScheduler = stepped
            self.board = LockstepDoorBoard(stepped)
            self.hardware = self.board.connect()
            self.body = GateBody(self.board)
            settle = self.board.settle
        elif self.hardware_kind == "simulated":
            self.scheduler = ManualScheduler()
            if self.hardware is None:
                self.hardware = SimulatedGateHardware(scheduler=self.scheduler)
            self.body = self.hardware
        else:
            raise ValueError(f"unknown hardware kind {self.hardware_kind!r}; try: {', '.join(HARDWARE_KINDS)}")
        self.link = OfflineCapableLink()
        self.machine = GateMachine(self.config or GateConfig(gate_id=self.gate_id))
        self.recognition = Recognition(
            watchlist=self.watchlist,
            today=lambda: SIM_TODAY,
            latency_s=dict(SIM_LATENCY_S),
        )
        self.runtime = GateRuntime(
            self.machine,
            hardware=self.hardware,
            link=self.link,
            recognition=self.recognition,
            scheduler=self.scheduler,
        )
        self.runtime.add_observer(self.trace.append)
        self.driver = SettlingGateDriver(self.runtime, self.body, self.scheduler, settle=settle)
        self.rng = random.Random(self.seed)
        self._count = 0
        self.runtime.start()
        if settle is not None:
            settle()

    def close(self) -> None:
        """Stop the runtime and, on the door board, the driver, the firmware thread and the pty."""
        self.runtime.stop()
        if self.board is not None:
            self.board.close()

    def traveler(self, **overrides: Any) -> SimTraveler:
        """A fresh valid WNI traveler (genuine biometrics unless overridden)."""
        self._count += 1
        overrides.setdefault("foreign", False)
        overrides.setdefault("expired", False)
        overrides.setdefault("document_readable", True)
        overrides.setdefault("finger_samples", ("genuine",))
        overrides.setdefault("face_samples", ("genuine",))
        return make_traveler(self.rng, self._count, today=SIM_TODAY, **overrides)

    def events(self, name: str | None = None) -> list[GateEvent]:
        out = [p for p in self.link.events if isinstance(p, GateEvent)]
        return [e for e in out if name is None or e.event == name]

    @property
    def crossings(self) -> list[CrossingRecord]:
        return [p for p in self.link.events if isinstance(p, CrossingRecord)]


@dataclass
class ScenarioResult:
    scenario: str
    outcome: str
    trace: list[TraceRecord]
    summary: dict[str, Any]


Script = Callable[[SimWorld], dict[str, Any]]
SCENARIOS: dict[str, tuple[str, Script]] = {}


def scenario(name: str, description: str) -> Callable[[Script], Script]:
    def register(fn: Script) -> Script:
        SCENARIOS[name] = (description, fn)
        return fn

    return register


@scenario("happy", "A WNI with a valid DPRI crosses: scan, entry, finger, face, exit (B6)")
def _happy(world: SimWorld) -> dict[str, Any]:
    return {"outcome": world.driver.run_traveler(world.traveler())}


@scenario("unreadable", "The MRZ cannot be read: the entry door stays closed (B1)")
def _unreadable(world: SimWorld) -> dict[str, Any]:
    return {"outcome": world.driver.run_traveler(world.traveler(document_readable=False))}


@scenario("expired", "An expired DPRI: the entry door stays closed, go to the counter (B2)")
def _expired(world: SimWorld) -> dict[str, Any]:
    return {"outcome": world.driver.run_traveler(world.traveler(expired=True))}


@scenario(
    "cekal",
    "Cekal identik: let in, both doors locked, alarm until acknowledged, audited release (B3)",
)
def _cekal(world: SimWorld) -> dict[str, Any]:
    traveler = world.traveler()
    world.watchlist.identical[traveler.document_number] = "cekal-001"
    first = world.driver.run_traveler(traveler)
    world.driver.advance(30)
    refused_without_reason = not world.driver.command("release_held", reason="")
    world.driver.command("acknowledge_alarm", reason="officer on the way")
    world.driver.advance(120)
    world.driver.command("release_held", reason="secured by officer, cekal case opened")
    outcome = finish(world)
    return {
        "outcome": outcome,
        "held": first == "held",
        "release_without_reason_refused": refused_without_reason,
    }


@scenario(
    "finger-retry-pass",
    "Fingerprint mismatch, the supervisor grants a retry, the traveler crosses (B4)",
)
def _finger_retry(world: SimWorld) -> dict[str, Any]:
    return {"outcome": world.driver.run_traveler(world.traveler(finger_samples=("mismatch", "genuine")))}


@scenario(
    "finger-fail-counter",
    "Fingerprint fails every retry: entry reopens, referral to the counter (B4)",
)
def _finger_fail(world: SimWorld) -> dict[str, Any]:
    return {"outcome": world.driver.run_traveler(world.traveler(finger_samples=("mismatch",)))}


@scenario(
    "face-fail-counter",
    "The supervisor sends a face mismatch to the counter at once (B5)",
)
def _face_fail(world: SimWorld) -> dict[str, Any]:
    world.driver.supervisor = lambda runtime, step: "send_to_counter"
    return {"outcome": world.driver.run_traveler(world.traveler(face_samples=("mismatch",)))}


@scenario(
    "tailgating",
    "Two people pass the entry beam together: transaction stopped, both sent back",
)
def _tailgating(world: SimWorld) -> dict[str, Any]:
    rt, hw = world.runtime, world.body
    rt.present_document(world.traveler().presented())
    world.driver.wait_for_door("entry", "open")
    hw.tailgate()
    return {
        "outcome": finish(world),
        "alarm_raised": bool(world.events("alarm_raised")),
    }


@scenario(
    "emergency-while-held",
    "Fire alarm while a cekal traveler is held: every door released, alarm raised",
)
def _emergency_held(world: SimWorld) -> dict[str, Any]:
    hw = world.body
    traveler = world.traveler()
    world.watchlist.identical[traveler.document_number] = "cekal-002"
    world.driver.run_traveler(traveler)
    world.driver.advance(10)
    hw.fire_alarm(True)
    world.driver.advance(1.0)  # doors swing open
    doors = dict(hw.door_positions)
    hw.fire_alarm(False)
    world.driver.command("reset", reason="fire alarm over, gate inspected")
    world.driver.advance(1.0)
    back = world.driver.command("back_in_service", reason="inspected")
    return {
        "outcome": world.runtime.last_outcome or "none",
        "doors_at_release": doors,
        "alarms_raised": [e.reason for e in world.events("alarm_raised")],
        "back_in_service": back,
    }


@scenario(
    "central-offline",
    "Central unreachable: the gate keeps working, events wait in the outbox, sent on reconnect",
)
def _offline(world: SimWorld) -> dict[str, Any]:
    world.link.online = False
    first = world.driver.run_traveler(world.traveler())
    # No supervisor can answer while offline: the gate falls back to the counter on its own.
    world.driver.supervisor = None
    second = world.driver.run_traveler(world.traveler(finger_samples=("mismatch",)))
    queued = len(world.link.outbox)
    delivered = world.link.reconnect()
    return {
        "outcome": first,
        "second_traveler": second,
        "queued_while_offline": queued,
        "delivered_after_reconnect": delivered,
    }


def finish(world: SimWorld, max_steps: int = 100) -> str:
    """Walk whoever is in the mantrap out of the way the gate shows, until the transaction ends."""
    rt, hw = world.runtime, world.body
    ended = rt.ended_count
    for _ in range(max_steps):
        if rt.ended_count > ended or (rt.state == "idle" and rt.last_outcome):
            return rt.last_outcome or "none"
        if rt.state == "return_to_counter" and hw.door_positions["entry"] == "open" and hw.people_inside > 0:
            hw.person_backs_out()
        world.driver.advance(0.5)
    return rt.last_outcome or "none"


def run_scenario(name: str, *, seed: int = 7, hardware: str = "simulated") -> ScenarioResult:
    """Play scenario ``name`` on a fresh world; ``hardware`` is "simulated" or "doorboard"."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; try: {', '.join(SCENARIOS)}")
    world = SimWorld(seed=seed, hardware_kind=hardware)
    try:
        return play(world, name)
    finally:
        world.close()


def play(world: SimWorld, name: str) -> ScenarioResult:
    """Play scenario ``name`` on ``world`` (left open, so tests can inspect it)."""
    _, script = SCENARIOS[name]
    summary = script(world)
    outcome = str(summary.pop("outcome"))
    summary.update(
        {
            "final_state": world.runtime.state,
            "crossings": len(world.crossings),
            "alarm": world.machine.alarm,
            "metrics": world.machine.metrics.as_dict(),
        }
    )
    if world.crossings:
        summary["timings_ms"] = dict(world.crossings[-1].timings_ms)
    return ScenarioResult(name, outcome, list(world.trace), summary)
