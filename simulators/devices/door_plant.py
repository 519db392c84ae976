"""The physical side of the door board for simulation: door leaves that move when their motor
pins are driven and press their end stops, plus handles for beams, fire alarm and jams.

Pure stepping on a ms clock (``step(now_ms)``), so firmware tests stay deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulators.devices.fake_machine import FakeMachine, FakePin

DOORS = ("entry", "exit")


@dataclass
class _Leaf:
    motor_open: FakePin
    motor_close: FakePin
    lock: FakePin
    open_switch: FakePin
    closed_switch: FakePin
    doorway_beam: FakePin
    travel: float = 0.0  # 0 closed .. 1 open
    jammed: bool = False
    sensor_broken: bool = False


class DoorPlant:
    """Both door leaves and the mantrap inputs of one simulated gate.

    :param machine: the fake ``machine`` the firmware was built on.
    :param config: the board config (pin numbers) the firmware was built with.
    :param door_move_ms: how long a full stroke takes.
    """

    def __init__(self, machine: FakeMachine, config: object, door_move_ms: int = 1000) -> None:
        pins = machine.pins
        self.door_move_ms = door_move_ms
        self.leaves: dict[str, _Leaf] = {}
        for name, numbers in zip(DOORS, (config.ENTRY, config.EXIT)):  # type: ignore[attr-defined]
            self.leaves[name] = _Leaf(*(pins[n] for n in numbers))
        self.zone_beams = [pins[n] for n in config.ZONE_BEAMS]  # type: ignore[attr-defined]
        self.emergency = pins[config.EMERGENCY]  # type: ignore[attr-defined]
        self.lights = [pins[n] for n in config.LIGHTS]  # type: ignore[attr-defined]
        self._last_ms: int | None = None
        for leaf in self.leaves.values():
            self._press(leaf)

    def step(self, now_ms: int) -> None:
        elapsed = 0 if self._last_ms is None else max(0, now_ms - self._last_ms)
        self._last_ms = now_ms
        for leaf in self.leaves.values():
            stroke = elapsed / self.door_move_ms
            if leaf.motor_open.value() and not leaf.motor_close.value() and not leaf.jammed:
                leaf.travel = min(1.0, leaf.travel + stroke)
            elif leaf.motor_close.value() and not leaf.motor_open.value() and not leaf.jammed:
                leaf.travel = max(0.0, leaf.travel - stroke)
            self._press(leaf)

    def _press(self, leaf: _Leaf) -> None:
        # end stops close to ground: 0 = pressed
        if leaf.sensor_broken:
            leaf.open_switch.drive(0)
            leaf.closed_switch.drive(0)
            return
        leaf.open_switch.drive(0 if leaf.travel >= 1.0 else 1)
        leaf.closed_switch.drive(0 if leaf.travel <= 0.0 else 1)

    # ------------------------------------------------------------ the world

    def position(self, door: str) -> float:
        return self.leaves[door].travel

    def is_locked(self, door: str) -> bool:
        return bool(self.leaves[door].lock.value())

    def set_open(self, door: str, travel: float = 1.0) -> None:
        self.leaves[door].travel = travel
        self._press(self.leaves[door])

    def jam(self, door: str, jammed: bool = True) -> None:
        self.leaves[door].jammed = jammed

    def break_sensor(self, door: str, broken: bool = True) -> None:
        self.leaves[door].sensor_broken = broken
        self._press(self.leaves[door])

    def block_doorway(self, door: str, blocked: bool = True) -> None:
        self.leaves[door].doorway_beam.drive(blocked)

    def block_zone(self, index: int, blocked: bool = True) -> None:
        self.zone_beams[index].drive(blocked)

    def fire_alarm(self, active: bool = True) -> None:
        self.emergency.drive(active)

    @property
    def light_pattern(self) -> tuple[int, ...]:
        """(green, amber, red, buzzer) as the panel shows them."""
        return tuple(int(pin.value() or 0) for pin in self.lights)
