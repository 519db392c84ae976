"""The traveler's stations on real device drivers: the passport reader and the fingerprint
sensor behind ptys, a camera giving frames, feeding a gate that verifies on the real engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from gate_harness import wait_real  # type: ignore[import-not-found]

from edge.face import FaceEngine
from edge.fingerprint import FingerprintEngine
from edge.gate.biometrics import FaceSample, FaceVerifier, FingerprintVerifier
from edge.gate.enrolment_client import EnrolledTemplates, EnrolmentLookup
from edge.gate.stations import Stations, presented_from_reader
from edge.hardware.fingerprint_sensor import FingerprintSensor
from edge.hardware.passport_reader import DocumentRead, PassportReader
from protocol.messages import FaceEvidence
from simulators.devices.fingerprint_sensor_sim import FingerprintSensorSimulator
from simulators.devices.passport_reader_sim import PassportReaderSimulator
from simulators.fingerprints import impression
from simulators.scenarios import SimWorld

PORTRAITS = Path(__file__).resolve().parents[1] / "face" / "data"


def portrait(name: str) -> np.ndarray:
    image = cv2.imread(str(PORTRAITS / f"{name}.jpg"))
    assert image is not None
    return image


class Enrolments:
    def __init__(self, templates: EnrolledTemplates) -> None:
        self.templates = templates

    def fetch(self, document_number: str, issuing_state: str) -> EnrolmentLookup:
        return EnrolmentLookup("found", self.templates)


class FrameCamera:
    """A camera that shows one picture (a traveler standing still in front of it)."""

    def __init__(self, frame: np.ndarray) -> None:
        self.frame, self.reads = frame, 0

    def read(self) -> tuple[bool, np.ndarray]:
        self.reads += 1
        return True, self.frame.copy()


def enrolment(traveler: Any, face_engine: FaceEngine, fingerprint_iso: bytes | None = None) -> EnrolledTemplates:
    """The traveler enrolled with obama.jpg's face (and a finger, when given)."""
    return EnrolledTemplates(
        document_number=traveler.document_number, issuing_state="IDN", fields={},
        face=face_engine.embed(portrait("obama")), face_model=face_engine.embedder_name,
        face_model_version=face_engine.embedder_version, fingerprint_iso=fingerprint_iso,
        finger_position=2 if fingerprint_iso else None)


@pytest.fixture(scope="module")
def engines() -> tuple[FaceEngine, FingerprintEngine]:
    return FaceEngine.from_models(), FingerprintEngine.from_models()


def test_a_traveler_goes_through_on_the_reader_the_sensor_and_the_camera(engines) -> None:
    face_engine, finger_engine = engines
    world = SimWorld()
    traveler = world.traveler()
    enrolments = Enrolments(enrolment(traveler, face_engine,
                                      finger_engine.to_iso(finger_engine.extract(impression("walker", 0)))))
    world.recognition.fingerprint = FingerprintVerifier(finger_engine, enrolments)
    # liveness needs a moving face: a still camera is refused (see the next test)
    world.recognition.face = FaceVerifier(face_engine, enrolments, require_liveness=False)
    world.recognition.latency_s.clear()
    camera = FrameCamera(portrait("obama2"))
    page = cv2.imencode(".jpg", portrait("obama"))[1].tobytes()
    with PassportReaderSimulator() as reader_sim, FingerprintSensorSimulator() as sensor_sim:
        reader = PassportReader.open(reader_sim.port_name)
        sensor = FingerprintSensor.open(sensor_sim.port_name)
        challenges: list[Any] = []
        stations = Stations(world.runtime, reader=reader, sensor=sensor, camera=camera, burst_frames=3,
                            burst_s=0.1, poll_s=0.02, show_challenge=challenges.append).start()
        try:
            rt = world.runtime
            reader_sim.present(traveler.mrz_lines, page)
            assert wait_real(lambda: rt.state == "entry_open")
            world.driver.wait_for_door("entry", "open")
            world.hardware.person_enters()
            world.driver.wait_for_state("inside")
            assert rt.state == "inside"
            sensor_sim.place_finger(impression("walker", 1)[48:336, 32:288])  # the sensor's 256 x 288 window
            assert wait_real(lambda: rt.state == "face"), (rt.state, [e.event for e in world.events()][-3:],
                                                           world.link.events[-1])
            assert wait_real(lambda: rt.state == "exit_open")
            assert challenges and camera.reads >= 3
            world.driver.wait_for_door("exit", "open")
            world.hardware.person_exits()
            for _ in range(40):
                world.driver.advance(0.1)
            (crossing,) = world.crossings
            assert crossing.traveler.document_number == traveler.document_number
            assert crossing.fingerprint.match and crossing.face.match
            assert stations.device_errors == 0
        finally:
            stations.close()
            reader.close()
            sensor.close()
            world.close()


def test_a_still_picture_at_the_camera_is_refused_with_the_page_photo_for_the_supervisor(engines) -> None:
    face_engine, _ = engines
    world = SimWorld()
    traveler = world.traveler()
    world.recognition.face = FaceVerifier(face_engine, Enrolments(enrolment(traveler, face_engine)))  # liveness on
    world.driver.supervisor = lambda runtime, step: "send_to_counter"
    stations = Stations(world.runtime, camera=FrameCamera(portrait("obama2")), burst_frames=5, burst_s=0.05)
    page = cv2.imencode(".jpg", portrait("obama"))[1].tobytes()
    world.runtime.present_document(presented_from_reader(DocumentRead(traveler.mrz_lines, page, "jpeg")))
    world.driver.advance(1)
    assert world.runtime.state == "entry_open"
    world.driver.wait_for_door("entry", "open")
    world.hardware.person_enters()
    world.driver.wait_for_state("inside")
    world.runtime.place_finger("genuine")  # the simulated finger
    world.driver.wait_for_state("face")
    stations.step()  # one look, on this thread
    world.driver.advance(2)
    assert world.runtime.state == "awaiting_supervisor"
    note = next(e for e in world.events() if e.event == "supervisor_notified")
    assert note.reason == "face_not_captured"
    (evidence,) = [e for e in world.link.events if isinstance(e, FaceEvidence)]
    assert evidence.refused_reason.startswith("liveness:") and evidence.enrolled_source == "document"
    assert evidence.enrolled_jpeg is not None and evidence.captured_jpeg != evidence.enrolled_jpeg
    world.close()


def test_a_sample_is_sent_once_per_attempt() -> None:
    world = SimWorld()
    sent: list[Any] = []

    class Sensor:
        def capture_image(self) -> bool:
            return True

        def upload_image(self) -> np.ndarray:
            return np.zeros((288, 256), np.uint8)

    stations = Stations(world.runtime, sensor=Sensor())
    world.runtime.place_finger = sent.append  # type: ignore[method-assign]
    world.runtime.present_document(world.traveler().presented())
    world.driver.advance(1)
    world.driver.wait_for_door("entry", "open")
    world.hardware.person_enters()
    world.driver.wait_for_state("inside")
    for _ in range(3):
        stations.step()
    assert len(sent) == 1 and isinstance(sent[0], np.ndarray)
    assert isinstance(FaceSample(frames=()).frames, tuple)
    world.close()
