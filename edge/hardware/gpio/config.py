"""The GPIO pin map of one gate, as a pydantic model the edge settings embed.

Pins are gpiozero pin names: a BCM number (17), "GPIO17" or "BOARD11".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

PinId = int | str


class DoorPins(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    motor_open: PinId = Field(description="H-bridge input that drives the door open")
    motor_close: PinId = Field(description="H-bridge input that drives the door closed")
    lock: PinId = Field(description="maglock relay, high = locked")
    open_switch: PinId = Field(description="end stop to ground, closed when fully open")
    closed_switch: PinId = Field(description="end stop to ground, closed when fully closed")
    doorway_beam: PinId = Field(description="doorway beam receiver, high = blocked (external pull-up)")


class GpioPinMap(BaseModel):
    """Every pin the gate uses; no pin may appear twice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry: DoorPins = Field(description="entry door (pintu masuk)")
    exit: DoorPins = Field(description="exit door (pintu keluar)")
    zone_beams: list[PinId] = Field(min_length=1, max_length=8, description="mantrap floor beams, entry side first")
    green: PinId = Field(description="panel green lamp")
    amber: PinId = Field(description="panel amber lamp")
    red: PinId = Field(description="panel red lamp")
    buzzer: PinId = Field(description="panel buzzer")
    emergency: PinId = Field(description="fire alarm loop, high = alarm (external pull-up)")
    door_move_timeout_s: float = Field(3.0, gt=0.1, le=30.0, description="a door slower than this is jammed")

    @model_validator(mode="after")
    def _pins_unique(self) -> GpioPinMap:
        pins = [*self.entry.model_dump().values(), *self.exit.model_dump().values(), *self.zone_beams]
        pins += [self.green, self.amber, self.red, self.buzzer, self.emergency]
        seen: set[str] = set()
        for pin in pins:
            key = str(pin).upper().removeprefix("GPIO")
            if key in seen:
                raise ValueError(f"pin {pin} is used twice")
            seen.add(key)
        return self


# A wiring for a Raspberry Pi 40-pin header, used by the docs and the bench rig.
DEFAULT_PIN_MAP = GpioPinMap(
    entry=DoorPins(motor_open=5, motor_close=6, lock=13, open_switch=19, closed_switch=26, doorway_beam=20),
    exit=DoorPins(motor_open=12, motor_close=16, lock=21, open_switch=23, closed_switch=24, doorway_beam=25),
    zone_beams=[17, 27, 22],
    green=2,
    amber=3,
    red=4,
    buzzer=18,
    emergency=14,
)
