"""The gate's hardware: doors, beams, lights, buzzer and fire alarm behind one ``GateHardware``
interface, plus the serial passport reader and fingerprint sensor.

Adapters (chosen by ``edge.hardware.factory.build_gate_hardware``):

- ``simulated.SimulatedGateHardware``: in-process and deterministic, for tests and the demo;
- ``gpio.GpioGateHardware``: gpiozero devices on the edge computer's own pins;
- ``doorboard.DoorBoardGateHardware``: the firmware/ door board over a serial line.

Safety lives in the devices: each adapter enforces the interlocks, releases every door on the
fire alarm by itself, and stops the motors on any fault. The gate machine (edge/gate) decides
what should happen; the adapters decide what may.
"""

from edge.hardware.base import (
    DOOR_NAMES,
    INDICATOR_OUTPUTS,
    DoorAction,
    DoorCommand,
    DoorName,
    DoorPosition,
    GateHardware,
    HardwareEvent,
    HardwareEventKind,
    Indicator,
    IndicatorOutputs,
)

__all__ = [
    "DOOR_NAMES",
    "INDICATOR_OUTPUTS",
    "DoorAction",
    "DoorCommand",
    "DoorName",
    "DoorPosition",
    "GateHardware",
    "HardwareEvent",
    "HardwareEventKind",
    "Indicator",
    "IndicatorOutputs",
]
