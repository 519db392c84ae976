"""The in-process fakes behave like the serial drivers they stand in for."""

from __future__ import annotations

import numpy as np
import pytest

from edge.hardware.fingerprint_sensor import codec as C
from edge.hardware.fingerprint_sensor.errors import SensorRefused, SensorTimeout
from edge.hardware.fingerprint_sensor.fake import FakeFingerprintSensor
from edge.hardware.passport_reader.errors import PassportReaderError, ReaderTimeout, RecordCorrupt
from edge.hardware.passport_reader.fake import FakePassportReader

TD1 = ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")


def test_fake_passport_reader():
    reader = FakePassportReader()
    seen = []
    reader.when_document = seen.append
    assert reader.status() == "READY"
    with pytest.raises(PassportReaderError, match="NO_DOCUMENT"):
        reader.request_read()
    doc = reader.present(TD1, b"jpeg")
    assert reader.wait_for_document(0.1) == doc == seen[0]
    reader.request_read()
    assert reader.wait_for_document(0.1).mrz_lines == TD1
    with pytest.raises(ReaderTimeout):
        reader.wait_for_document(0.0)
    with pytest.raises(RecordCorrupt):
        reader.present(("TOO SHORT", "X"))


def test_fake_fingerprint_sensor_quantises_like_the_real_one():
    sensor = FakeFingerprintSensor()
    assert sensor.capture_image() is False
    with pytest.raises(SensorRefused):
        sensor.upload_image()
    with pytest.raises(SensorTimeout):
        sensor.capture(timeout_s=0.0)
    finger = np.full((C.IMAGE_HEIGHT, C.IMAGE_WIDTH), 200, dtype=np.uint8)
    sensor.place_finger(finger)
    assert np.array_equal(sensor.capture(timeout_s=1.0), (finger >> 4) * 17)
    with pytest.raises(ValueError):
        sensor.place_finger(np.zeros((10, 10), dtype=np.uint8))
