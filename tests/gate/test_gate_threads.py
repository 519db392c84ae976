"""The runtime on real threads: the production timer thread moves the doors while the test thread
plays the traveler and another thread sends commands. Nothing sleeps; every wait is on an Event
with a generous timeout, and nothing asserts timings."""

from __future__ import annotations

import threading
from collections import defaultdict

from edge.gate.clock import MonotonicScheduler
from edge.gate.config import GateConfig
from edge.gate.machine import GateMachine
from edge.gate.recognition import Recognition
from edge.gate.runtime import GateRuntime, TraceRecord
from edge.hardware.base import HardwareEvent
from edge.hardware.simulated import SimulatedGateHardware
from edge.link.base import MemoryLink
from protocol.messages import Command, CommandAction
from simulators.scenarios import SIM_TODAY, SimWorld

WAIT_S = 20.0


def test_crossing_on_real_threads_with_concurrent_commands() -> None:
    """Hardware events on the timer thread and commands on another thread must not deadlock."""
    scheduler = MonotonicScheduler()
    hw = SimulatedGateHardware(door_move_s=0.01, door_move_timeout_s=2.0, scheduler=scheduler)
    link = MemoryLink()
    runtime = GateRuntime(
        GateMachine(GateConfig(gate_id="gt")),
        hardware=hw,
        link=link,
        recognition=Recognition(today=lambda: SIM_TODAY),
        scheduler=scheduler,
    )
    seen: defaultdict[tuple[str, str | None], threading.Event] = defaultdict(threading.Event)
    states: defaultdict[str, threading.Event] = defaultdict(threading.Event)
    hw.on_event(lambda e: seen[(e.kind.value, e.door)].set() if isinstance(e, HardwareEvent) else None)

    def on_trace(record: TraceRecord) -> None:
        states[record.state].set()

    runtime.add_observer(on_trace)
    runtime.start()
    stop = threading.Event()
    acks: list[bool] = []

    def pester() -> None:  # a console hammering the gate with commands it must refuse
        n = 0
        while not stop.is_set():
            n += 1
            cmd = Command(
                command_id=f"p{n}",
                gate_id="gt",
                action=CommandAction.GRANT_RETRY,
                issued_by="spv",
                expires_at_ms=runtime.now_ms() + 60_000,
            )
            acks.append(link.deliver_command(cmd).accepted)
            stop.wait(0.001)

    pest = threading.Thread(target=pester, daemon=True)
    pest.start()
    try:
        traveler = SimWorld(seed=5).traveler()
        runtime.present_document(traveler.presented())
        assert seen[("door_opened", "entry")].wait(WAIT_S)
        hw.person_enters()
        assert states["inside"].wait(WAIT_S)
        runtime.place_finger("genuine")
        assert states["face"].wait(WAIT_S)
        runtime.show_face("genuine")
        assert seen[("door_opened", "exit")].wait(WAIT_S)
        hw.person_exits()
        assert states["idle"].wait(WAIT_S)
    finally:
        stop.set()
        pest.join(WAIT_S)
        runtime.stop()
        hw.close()
        scheduler.close()
    assert not pest.is_alive()
    assert runtime.last_outcome == "crossed"
    assert acks and not any(acks)  # grant_retry is never valid outside awaiting_supervisor
