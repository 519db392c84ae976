"""The R30x/AS608 packet protocol, and the driver against the pty sensor simulator."""

from __future__ import annotations

import numpy as np
import pytest

from edge.hardware.fingerprint_sensor import FingerprintSensor
from edge.hardware.fingerprint_sensor import codec as C
from edge.hardware.fingerprint_sensor.errors import SensorPacketError, SensorRefused, SensorTimeout, WrongPassword
from simulators.devices.fingerprint_sensor_sim import FingerprintSensorSimulator, synthetic_finger


def test_genimg_packet_matches_the_datasheet():
    # the datasheet's GenImg example: EF01 FFFFFFFF 01 0003 01 0005
    assert C.command(C.GEN_IMG).hex() == "ef01ffffffff010003010005"


def test_decoder_handles_noise_splits_and_bad_checksums():
    good = C.encode_packet(C.PID_ACK, b"\x00")
    bad = bytearray(good)
    bad[-1] ^= 1
    decoder = C.PacketDecoder()
    out = []
    for byte in b"\x00\xef" + bytes(bad) + good:
        out += decoder.feed(bytes([byte]))
    assert out == [C.BadPacket(C.PID_ACK), C.Packet(C.DEFAULT_ADDRESS, C.PID_ACK, b"\x00")]


def test_image_packing_round_trip_keeps_the_top_four_bits():
    image = np.arange(C.IMAGE_HEIGHT * C.IMAGE_WIDTH, dtype=np.uint32).reshape(C.IMAGE_HEIGHT, C.IMAGE_WIDTH) % 256
    data = C.pack_image(image.astype(np.uint8))
    assert len(data) == C.IMAGE_BYTES == 36864
    assert np.array_equal(C.unpack_image(data), (image.astype(np.uint8) >> 4) * 17)


def test_parameters_round_trip():
    params = C.SystemParameters(0, 9, 300, 3, 0xFFFFFFFF, 128, 57600)
    assert C.SystemParameters.parse(params.encode()) == params


@pytest.fixture
def rig():
    with FingerprintSensorSimulator(password=0x1234, packet_size=64) as sim:
        sensor = FingerprintSensor.open(sim.port_name, password=0x1234)
        try:
            yield sensor, sim
        finally:
            sensor.close()


def test_handshake_password_and_parameters(rig):
    sensor, _ = rig
    sensor.handshake()
    sensor.verify_password()
    params = sensor.read_parameters()
    assert params.packet_size == 64 and params.library_size == 300 and params.baud == 57600


def test_wrong_password(rig):
    _, sim = rig
    other = FingerprintSensor.open(sim.port_name, password=1)
    try:
        with pytest.raises(WrongPassword, match="wrong password") as info:
            other.verify_password()
        assert isinstance(info.value, PermissionError) and info.value.code == C.ERR_WRONG_PASSWORD
    finally:
        other.close()


def test_no_finger_then_finger_image_served(rig):
    sensor, sim = rig
    assert sensor.capture_image() is False
    finger = synthetic_finger(seed=3)
    sim.place_finger(finger)
    image = sensor.capture(timeout_s=5)
    assert image.shape == (288, 256)
    assert np.array_equal(image, (finger >> 4) * 17)
    assert sim.commands[-2:] == [C.GEN_IMG, C.UP_IMAGE]


def test_upload_without_an_image_is_refused(rig):
    sensor, _ = rig
    with pytest.raises(SensorRefused, match="no valid image"):
        sensor.upload_image()


def test_capture_times_out_without_a_finger(rig):
    sensor, _ = rig
    with pytest.raises(SensorTimeout):
        sensor.capture(timeout_s=0.0, poll_s=0.0)


def test_silent_sensor_times_out():
    with FingerprintSensorSimulator(address=0x12345678) as sim:
        sensor = FingerprintSensor.open(sim.port_name, timeout_s=0.2)  # wrong address: the sensor ignores us
        try:
            with pytest.raises(SensorTimeout) as info:
                sensor.handshake()
            assert isinstance(info.value, TimeoutError)
        finally:
            sensor.close()


def test_checksum_error_is_a_packet_error():
    class Port:
        port = "fake"
        in_waiting = 0

        def write(self, data):
            return len(data)

        def read(self, n):
            bad = bytearray(C.encode_packet(C.PID_ACK, b"\x00"))
            bad[-1] ^= 1
            return bytes(bad)

    with pytest.raises(SensorPacketError, match="checksum"):
        FingerprintSensor(port=Port()).handshake()
