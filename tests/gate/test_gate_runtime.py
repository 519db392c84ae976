"""The runtime: effects performed on hardware and link, commands acked, faults and emergencies."""

from __future__ import annotations

import pytest

from edge.gate.config import GateConfig
from edge.gate.errors import RuntimeStopped
from edge.gate.events import DocumentPresented
from edge.gate.machine import GateMachine
from edge.gate.recognition import Recognition
from edge.gate.runtime import GateRuntime, hardware_to_event
from edge.hardware.base import (
    DoorCommand,
    DoorName,
    GateHardware,
    HardwareEvent,
    HardwareEventKind,
    Indicator,
)
from edge.hardware.clock import ManualScheduler
from edge.hardware.errors import InterlockViolation
from edge.link.base import MemoryLink
from edge.link.errors import OutboxError
from protocol.messages import Command, CommandAction, GateState
from simulators.scenarios import SIM_TODAY, SimWorld


def command(
    world: SimWorld,
    action: str,
    *,
    reason: str = "",
    gate: str | None = None,
    expires_in_ms: int = 30_000,
    cid: str | None = None,
) -> object:
    cmd = Command(
        command_id=cid or f"cmd-{action}-{len(world.link.events)}",
        gate_id=gate or world.runtime.gate_id,
        action=CommandAction(action),
        issued_by="spv-1",
        reason=reason,
        expires_at_ms=max(0, world.runtime.now_ms() + expires_in_ms),
    )
    return world.link.deliver_command(cmd)


def test_start_publishes_initial_state_and_indicator() -> None:
    world = SimWorld()
    assert isinstance(world.link.states[0], GateState)
    assert world.link.states[0].state == "idle" and world.link.states[0].entry_door == "closed"
    assert world.hardware.indicator is Indicator.IDLE
    assert world.runtime.message_key == "idle"


def test_state_changes_are_published_as_gate_events_with_traveler() -> None:
    """Central reconstructs every transaction from these events; each needs from/to and the traveler."""
    world = SimWorld()
    traveler = world.traveler()
    assert world.driver.run_traveler(traveler) == "crossed"
    changes = [e for e in world.events() if e.state_to is not None]
    assert [c.state_to for c in changes] == [
        "reading_document",
        "checking",
        "entry_open",
        "inside",
        "fingerprint",
        "face",
        "exit_open",
        "idle",
    ]
    assert all(c.state_from for c in changes)
    assert changes[3].traveler is not None and changes[3].traveler.document_number == traveler.document_number
    assert world.crossings[0].traveler.document_number == traveler.document_number
    assert world.link.states[-1].state == "idle"


@pytest.mark.parametrize(
    ("action", "kwargs", "reason"),
    [
        ("grant_retry", {}, "grant_retry not allowed in idle"),
        (
            "send_to_counter",
            {"gate": "other-gate"},
            "command for gate other-gate, this is sim-gate-1",
        ),
        ("out_of_service", {"expires_in_ms": -1000}, "expired"),
        ("release_held", {}, "release_held needs a reason"),
    ],
)
def test_refused_commands_say_why(action: str, kwargs: dict, reason: str) -> None:
    world = SimWorld()
    world.driver.advance(5)
    ack = command(world, action, **kwargs)
    assert not ack.accepted and ack.reason == reason and ack.state_after == "idle"  # type: ignore[attr-defined]
    assert world.link.events[-1] == ack  # the ack travels through the outbox


def test_duplicate_command_id_is_refused() -> None:
    """A replayed command must not act twice (e.g. two retries from one click)."""
    world = SimWorld()
    assert command(world, "out_of_service", cid="c-1").accepted  # type: ignore[attr-defined]
    again = command(world, "back_in_service", cid="c-1")
    assert not again.accepted and again.reason == "duplicate command id"  # type: ignore[attr-defined]
    assert world.runtime.state == "out_of_service"


def test_accepted_command_is_audited() -> None:
    world = SimWorld()
    ack = command(world, "out_of_service", reason="cleaning")
    assert ack.accepted and ack.state_after == "out_of_service"  # type: ignore[attr-defined]
    audit = next(e for e in world.events() if e.event == "command_out_of_service")
    assert audit.details["issued_by"] == "spv-1" and audit.reason == "cleaning"


def test_jammed_door_moves_gate_to_fault_with_alarm() -> None:
    """An actuator fault must stop the transaction, alarm and publish the fault state."""
    world = SimWorld()
    world.hardware.jam_door("entry")
    world.runtime.present_document(world.traveler().presented())
    world.driver.advance(5.0)
    assert world.runtime.state == "fault"
    assert world.machine.alarm == "fault"
    assert world.link.states[-1].alarm == "fault"
    assert world.runtime.last_outcome == "fault"
    assert not command(world, "reset").accepted  # type: ignore[attr-defined]


def test_broken_sensor_moves_idle_gate_to_fault_and_recovers() -> None:
    world = SimWorld()
    world.hardware.break_sensor("exit")
    assert world.runtime.state == "fault"
    world.hardware.break_sensor("exit", broken=False)
    assert command(world, "reset", reason="sensor replaced").accepted  # type: ignore[attr-defined]
    assert command(world, "back_in_service").accepted  # type: ignore[attr-defined]
    assert world.runtime.state == "idle"


class RefusingHardware(GateHardware):
    """A hardware double whose interlock refuses every door command."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[DoorCommand] = []
        self.released = 0

    def execute(self, command: DoorCommand) -> None:
        self.commands.append(command)
        raise InterlockViolation(f"{command.door} door: refused")

    def release_all(self) -> None:
        self.released += 1

    def indicate(self, indicator: Indicator) -> None:
        pass

    @property
    def door_positions(self) -> dict[DoorName, str]:
        return {"entry": "closed", "exit": "closed"}

    def close(self) -> None:
        pass


def test_interlock_refusal_becomes_a_fault_not_a_crash() -> None:
    """If the hardware refuses what the machine asked, the machine's picture is wrong: fault."""
    scheduler = ManualScheduler()
    hw = RefusingHardware()
    world = SimWorld(hardware=None)
    runtime = GateRuntime(
        GateMachine(GateConfig(gate_id="g9")),
        hardware=hw,
        link=MemoryLink(),
        recognition=Recognition(today=lambda: SIM_TODAY),
        scheduler=scheduler,
    )
    runtime.start()
    runtime.present_document(world.traveler().presented())
    assert hw.commands and hw.commands[0].action.value == "open"
    assert runtime.state == "fault"
    hw._emit(HardwareEventKind.EMERGENCY, detail="fire")
    assert runtime.state == "emergency" and hw.released == 1


def test_a_full_outbox_is_a_fault_not_a_crash_and_nobody_crosses_unrecorded() -> None:
    """A gate that cannot keep its records (a full disk: OutboxError) stops taking travelers: it
    neither raises into the thread that fed it nor opens a door it could not record, and an
    officer's reset brings it back once the disk has room. Found by the chaos suite's full-disk
    scenario, where the gate stalled for good after the first failed append."""
    world = SimWorld()
    record = world.link.publish_event
    disk_full = [True]

    def publish_event(payload) -> None:  # type: ignore[no-untyped-def]
        if disk_full[0]:
            raise OutboxError("outbox: append failed: database or disk is full")
        record(payload)

    world.link.publish_event = publish_event  # type: ignore[method-assign]
    world.runtime.present_document(world.traveler().presented())
    world.driver.advance(5.0)
    assert world.runtime.state == "fault"
    assert world.hardware.door_positions == {"entry": "closed", "exit": "closed"}
    assert world.crossings == []
    disk_full[0] = False
    assert command(world, "reset", reason="disk freed").accepted  # type: ignore[attr-defined]
    assert command(world, "back_in_service").accepted  # type: ignore[attr-defined]
    assert world.driver.run_traveler(world.traveler()) == "crossed"
    assert len(world.crossings) == 1


def test_stop_cancels_timers_and_refuses_input() -> None:
    world = SimWorld()
    world.runtime.present_document(world.traveler().presented())
    world.runtime.stop()
    state = world.runtime.state
    world.driver.advance(120)  # no timer may fire into a stopped runtime
    assert world.runtime.state == state
    with pytest.raises(RuntimeStopped):
        world.runtime.place_finger("genuine")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (HardwareEventKind.DOOR_OPENED, "door_opened"),
        (HardwareEventKind.TAILGATING, "tailgating"),
        (HardwareEventKind.EMERGENCY, "emergency"),
        (HardwareEventKind.EMERGENCY_CLEARED, "emergency_cleared"),
        (HardwareEventKind.DOOR_FAULT, "fault"),
        (HardwareEventKind.FAULT_CLEARED, "fault_cleared"),
    ],
)
def test_hardware_event_mapping(kind: HardwareEventKind, name: str) -> None:
    event = hardware_to_event(HardwareEvent(kind, "entry"))
    assert event is not None and event.name == name


def test_emergency_jumps_the_queue() -> None:
    """A fire alarm raised while other events wait must be handled first."""
    world = SimWorld()
    runtime = world.runtime
    order: list[str] = []
    runtime.add_observer(lambda r: order.append(r.state))
    # Simulate a busy drain: hold the lock, queue a document and then the fire alarm.
    with runtime._drain_lock:
        runtime._queue.append(DocumentPresented())
        world.hardware.fire_alarm(True)
        assert type(runtime._queue[0]).__name__ == "EmergencyInput"
    runtime._pump()
    assert order[0] == "emergency"
    assert world.runtime.state == "emergency"  # the document queued behind it was refused there


class ExplodingVerifier:
    def verify(self, sample: object, traveler: object) -> object:
        raise ZeroDivisionError("engine bug")


class ExplodingWatchlist:
    def screen(self, traveler: object, *, today: object) -> object:
        raise ConnectionError("watchlist store gone")


def test_crashing_biometric_engine_goes_to_supervisor_not_down() -> None:
    """A face/finger engine bug must not kill the gate with a traveler inside."""
    world = SimWorld()
    world.recognition.fingerprint = ExplodingVerifier()  # type: ignore[assignment]
    world.driver.supervisor = lambda runtime, step: "send_to_counter"
    assert world.driver.run_traveler(world.traveler()) == "referred_to_counter"
    assert world.runtime.engine_failures == 1
    note = next(e for e in world.events() if e.event == "supervisor_notified")
    assert note.reason == "fingerprint_unreadable"


def test_failing_watchlist_fails_closed() -> None:
    """If the traveler cannot be screened, the entry door must stay closed (SOP step 3)."""
    world = SimWorld()
    world.recognition.watchlist = ExplodingWatchlist()  # type: ignore[assignment]
    assert world.driver.run_traveler(world.traveler()) == "document_invalid"
    assert not [r for r in world.trace if r.event == "door_command"]
