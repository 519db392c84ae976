"""The R30x / AS608 optical fingerprint sensor over its serial packet protocol."""

from edge.hardware.fingerprint_sensor.device import FingerprintSensor

__all__ = ["FingerprintSensor"]
