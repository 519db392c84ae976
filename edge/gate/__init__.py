"""The gate transaction: a pure state machine (``GateMachine``) and the runtime that drives it.

    machine = GateMachine(GateConfig(gate_id="t3-d01", direction="departure"))
    runtime = GateRuntime(machine, hardware=hw, link=link, recognition=Recognition(...), scheduler=sched)
    runtime.start()   # subscribes to hardware events and commands, publishes the initial state
    ...
    runtime.stop()    # cancels timers; the caller closes hardware and link

The transition table is data (``edge.gate.table.TRANSITIONS``); docs/gate.md prints it.
"""

from edge.gate.config import GateConfig
from edge.gate.errors import (
    GateConfigError,
    GateError,
    RuntimeStopped,
    TransitionTableError,
)
from edge.gate.machine import Decision, GateMachine
from edge.gate.passback import PassbackMemory
from edge.gate.recognition import PresentedDocument, Recognition
from edge.gate.runtime import GateRuntime, TraceRecord
from edge.gate.states import State

__all__ = [
    "Decision",
    "GateConfig",
    "GateConfigError",
    "GateError",
    "GateMachine",
    "GateRuntime",
    "PassbackMemory",
    "PresentedDocument",
    "Recognition",
    "RuntimeStopped",
    "State",
    "TraceRecord",
    "TransitionTableError",
]
