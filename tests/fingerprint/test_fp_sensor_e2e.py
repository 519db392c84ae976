"""The gate's path end to end: simulated finger -> R30x sensor on a pty -> driver -> engine."""

from __future__ import annotations

import pytest

from edge.fingerprint import FingerprintEngine
from edge.hardware.fingerprint_sensor import FingerprintSensor
from edge.hardware.fingerprint_sensor import codec as C
from simulators.devices.fingerprint_sensor_sim import FingerprintSensorSimulator
from simulators.fingerprints import synthetic_finger


@pytest.mark.timeout(60)
def test_a_traveller_verifies_through_the_serial_sensor():
    """Without this, a sensor image (256 x 288, 4-bit grey) could silently be unusable by the engine."""
    engine = FingerprintEngine.from_models()
    finger = synthetic_finger("T-dave", 2, size=(C.IMAGE_WIDTH, C.IMAGE_HEIGHT))
    enrolled = engine.extract(finger.impression(0))
    impostor = engine.extract(synthetic_finger("T-erin", 2, size=(C.IMAGE_WIDTH, C.IMAGE_HEIGHT)).impression(0))
    with FingerprintSensorSimulator() as sim:
        sensor = FingerprintSensor.open(sim.port_name)
        try:
            sim.place_finger(finger.impression(3))
            image = sensor.capture(timeout_s=10)
        finally:
            sensor.close()
    assert image.shape == (C.IMAGE_HEIGHT, C.IMAGE_WIDTH)
    probe = engine.extract(image)
    assert engine.verify(probe, enrolled).match
    assert not engine.verify(probe, impostor).match
