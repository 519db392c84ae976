"""gpiozero adapter: doors, beams, lights, buzzer and fire alarm on the edge computer's pins."""

from edge.hardware.gpio.config import DEFAULT_PIN_MAP, DoorPins, GpioPinMap
from edge.hardware.gpio.door import Door
from edge.hardware.gpio.gate import GpioGateHardware

__all__ = ["DEFAULT_PIN_MAP", "Door", "DoorPins", "GpioGateHardware", "GpioPinMap"]
