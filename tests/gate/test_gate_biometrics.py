"""The gate's real 1:1 verifiers: the fingerprint and face engines against enrolled templates,
through the runtime (face evidence for the supervisor) and on the production worker thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from gate_harness import wait_real  # type: ignore[import-not-found]

from edge.face import FaceEngine
from edge.face.liveness import Challenge
from edge.fingerprint import FingerprintEngine
from edge.gate.biometrics import FaceSample, FaceVerifier, FingerprintVerifier, Prefetcher, evidence_jpeg
from edge.gate.enrolment_client import EnrolledTemplates, EnrolmentLookup
from edge.gate.events import ENROLMENT_UNAVAILABLE, NOT_ENROLLED
from edge.gate.recognition import PresentedDocument, Verdict, WorkerRunner
from protocol.messages import MAX_FACE_JPEG_BYTES, FaceEvidence, TravelerDocument
from simulators.fingerprints import impression
from simulators.scenarios import SimWorld

PORTRAITS = Path(__file__).resolve().parents[1] / "face" / "data"
TRAVELER = TravelerDocument(document_number="X1234567", document_type="P", issuing_state="IDN", expiry_date=None,
                            given_names="SITI", surname="RAHAYU", sex="F", birth_date=None, nationality="IDN")


@pytest.fixture(scope="module")
def face_engine() -> FaceEngine:
    return FaceEngine.from_models()


@pytest.fixture(scope="module")
def finger_engine() -> FingerprintEngine:
    return FingerprintEngine.from_models()


def portrait(name: str) -> np.ndarray:
    image = cv2.imread(str(PORTRAITS / f"{name}.jpg"))
    assert image is not None, name
    return image


class Enrolments:
    """A stand-in for ``EnrolmentClient``: one enrolment, or a fixed status; counts fetches."""

    def __init__(self, templates: EnrolledTemplates | None = None, status: str = "found") -> None:
        self.templates, self.status, self.fetches = templates, status, 0
        self.fetched = threading.Event()

    def fetch(self, document_number: str, issuing_state: str) -> EnrolmentLookup:
        self.fetches += 1
        self.fetched.set()
        if self.status != "found" or self.templates is None:
            return EnrolmentLookup(self.status)  # type: ignore[arg-type]
        return EnrolmentLookup("found", self.templates, elapsed_ms=1.0)


def enrolled(*, face: np.ndarray | None = None, face_model: str = "face-sface", face_version: str | None = None,
             iso: bytes | None = None) -> EnrolledTemplates:
    return EnrolledTemplates(document_number="X1234567", issuing_state="IDN", fields={}, face=face,
                             face_model=face_model, face_model_version=face_version, fingerprint_iso=iso,
                             finger_position=2)


# ---- fingerprint ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finger_iso(finger_engine: FingerprintEngine) -> bytes:
    return finger_engine.to_iso(finger_engine.extract(impression("traveler-7", 0)))


def test_the_enrolled_finger_matches_and_another_does_not(finger_engine, finger_iso) -> None:
    verifier = FingerprintVerifier(finger_engine, Enrolments(enrolled(iso=finger_iso)))
    same = verifier.verify(impression("traveler-7", 1), TRAVELER)
    other = verifier.verify(impression("traveler-8", 1), TRAVELER)
    assert same.match and same.score is not None and same.score >= same.threshold
    assert not other.match and other.score is not None and other.score < other.threshold
    assert same.threshold == pytest.approx(finger_engine.threshold, abs=1e-4)


def test_fingerprint_refusals_say_why(finger_engine, finger_iso) -> None:
    verifier = FingerprintVerifier(finger_engine, Enrolments(enrolled(iso=finger_iso)))
    assert verifier.verify(None, TRAVELER).refused_reason == "no finger"
    blank = verifier.verify(np.full((384, 320), 255, np.uint8), TRAVELER)
    assert not blank.match and blank.refused_reason  # the engine's quality code: press again
    assert FingerprintVerifier(finger_engine, Enrolments(status="miss")).verify(
        impression("traveler-7", 1), TRAVELER).refused_reason == NOT_ENROLLED
    assert FingerprintVerifier(finger_engine, Enrolments(status="timeout")).verify(
        impression("traveler-7", 1), TRAVELER).refused_reason == ENROLMENT_UNAVAILABLE
    garbage = FingerprintVerifier(finger_engine, Enrolments(enrolled(iso=b"FMR\x00garbage")))
    assert garbage.verify(impression("traveler-7", 1), TRAVELER).refused_reason == ENROLMENT_UNAVAILABLE


# ---- face -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def obama_template(face_engine: FaceEngine) -> np.ndarray:
    return face_engine.embed(portrait("obama"))


def test_the_enrolled_face_matches_another_does_not_and_evidence_is_a_small_jpeg(face_engine, obama_template) -> None:
    document = PresentedDocument(mrz_lines=None, portrait_jpeg=evidence_jpeg(portrait("obama"), (60, 60, 160, 160)))
    verifier = FaceVerifier(face_engine, Enrolments(enrolled(face=obama_template, face_model=face_engine.embedder_name)),
                            require_liveness=False)
    same = verifier.verify(portrait("obama2"), TRAVELER, document=document)
    other = verifier.verify(portrait("biden"), TRAVELER, document=document)
    assert isinstance(same, Verdict) and same.result.match and same.result.score >= same.result.threshold
    assert not other.result.match and other.result.score < other.result.threshold
    assert other.captured_jpeg is not None and other.captured_jpeg.startswith(b"\xff\xd8\xff")
    assert len(other.captured_jpeg) <= MAX_FACE_JPEG_BYTES
    assert cv2.imdecode(np.frombuffer(other.captured_jpeg, np.uint8), cv2.IMREAD_COLOR).shape[0] == 160
    assert other.enrolled_jpeg == document.portrait_jpeg and other.enrolled_source == "document"


def test_a_still_photo_burst_is_refused_by_liveness_before_matching(face_engine, obama_template) -> None:
    verifier = FaceVerifier(face_engine, Enrolments(enrolled(face=obama_template, face_model=face_engine.embedder_name)))
    still = portrait("obama2")
    attack = verifier.verify(FaceSample(frames=(still,) * 5, challenge=Challenge.BLINK), TRAVELER)
    assert not attack.result.match and attack.result.score is None
    assert attack.result.refused_reason is not None and attack.result.refused_reason.startswith("liveness:")
    single = verifier.verify(still, TRAVELER)  # no challenge shown: cannot be checked, so refused
    assert single.result.refused_reason == "liveness: no_challenge"


def test_face_refusals_say_why(face_engine, obama_template) -> None:
    name = face_engine.embedder_name
    ok = enrolled(face=obama_template, face_model=name)
    assert FaceVerifier(face_engine, Enrolments(ok)).verify(None, TRAVELER).result.refused_reason == "no face"
    blank = FaceVerifier(face_engine, Enrolments(ok), require_liveness=False).verify(
        np.full((480, 640, 3), 128, np.uint8), TRAVELER)
    assert not blank.result.match and blank.result.refused_reason and blank.captured_jpeg is None
    miss = FaceVerifier(face_engine, Enrolments(status="miss")).verify(portrait("obama2"), TRAVELER)
    assert miss.result.refused_reason == NOT_ENROLLED
    other_model = FaceVerifier(face_engine, Enrolments(enrolled(face=obama_template, face_model="face-other")))
    assert other_model.verify(portrait("obama2"), TRAVELER).result.refused_reason == ENROLMENT_UNAVAILABLE
    other_version = FaceVerifier(face_engine, Enrolments(enrolled(face=obama_template, face_model=name,
                                                                  face_version="retrained-2027")))
    assert other_version.verify(portrait("obama2"), TRAVELER).result.refused_reason == ENROLMENT_UNAVAILABLE
    same_version = FaceVerifier(face_engine, Enrolments(enrolled(face=obama_template, face_model=name,
                                                                 face_version=face_engine.embedder_version)),
                                require_liveness=False)
    assert same_version.verify(portrait("obama2"), TRAVELER).result.match


# ---- through the runtime ----------------------------------------------------------------------
class SampleMap:
    """The simulated traveler carries "genuine"/"mismatch" flags; map them to real captures."""

    def __init__(self, verifier: Any, samples: dict[str, Any]) -> None:
        self.verifier, self.samples = verifier, samples

    def verify(self, sample: Any, traveler: TravelerDocument, **kwargs: Any) -> Any:
        return self.verifier.verify(self.samples.get(sample), traveler, **kwargs)


def world_with_real_biometrics(face_engine, finger_engine, finger_iso, obama_template) -> SimWorld:
    world = SimWorld()
    enrolments = Enrolments(enrolled(face=obama_template, face_model=face_engine.embedder_name, iso=finger_iso))
    world.recognition.fingerprint = SampleMap(FingerprintVerifier(finger_engine, enrolments), {
        "genuine": impression("traveler-7", 2), "mismatch": impression("traveler-9", 2)})
    world.recognition.face = SampleMap(FaceVerifier(face_engine, enrolments, require_liveness=False), {
        "genuine": portrait("obama3"), "mismatch": portrait("biden")})
    world.driver.supervisor = lambda runtime, step: "send_to_counter"
    return world


def test_a_traveler_crosses_on_real_biometrics_and_no_face_leaves_the_gate(
        face_engine, finger_engine, finger_iso, obama_template) -> None:
    world = world_with_real_biometrics(face_engine, finger_engine, finger_iso, obama_template)
    assert world.driver.run_traveler(world.traveler()) == "crossed"
    (crossing,) = [e for e in world.link.events if getattr(e, "kind", "") == "crossing"]
    assert crossing.fingerprint.match and crossing.face.match and crossing.face.score >= crossing.face.threshold
    assert not [e for e in world.link.events if isinstance(e, FaceEvidence)]


def test_a_face_mismatch_sends_the_captured_face_to_the_supervisor(
        face_engine, finger_engine, finger_iso, obama_template) -> None:
    world = world_with_real_biometrics(face_engine, finger_engine, finger_iso, obama_template)
    traveler = world.traveler(face_samples=("mismatch",))
    assert world.driver.run_traveler(traveler) == "referred_to_counter"
    (evidence,) = [e for e in world.link.events if isinstance(e, FaceEvidence)]
    note = next(e for e in world.events() if e.event == "supervisor_notified")
    assert note.reason == "face_mismatch" and evidence.transaction_id == note.transaction_id
    assert evidence.score is not None and evidence.score < evidence.threshold


def test_no_enrolment_is_its_own_reason_for_the_supervisor(face_engine, finger_engine) -> None:
    world = SimWorld()
    world.recognition.fingerprint = SampleMap(FingerprintVerifier(finger_engine, Enrolments(status="miss")), {
        "genuine": impression("traveler-7", 2)})
    world.driver.supervisor = lambda runtime, step: "send_to_counter"
    assert world.driver.run_traveler(world.traveler()) == "referred_to_counter"
    note = next(e for e in world.events() if e.event == "supervisor_notified")
    assert note.reason == "not_enrolled"


# ---- the production worker thread -------------------------------------------------------------
class Gated:
    """A verifier that answers only when the test lets it (an engine taking its time)."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.release, self.started = answer, threading.Event(), threading.Event()

    def verify(self, sample: Any, traveler: TravelerDocument, **kwargs: Any) -> Any:
        self.started.set()
        assert self.release.wait(10)
        return self.answer


def walk_in_on_worker(world: SimWorld) -> None:
    """Present the passport and walk in, with recognition on the worker thread."""
    rt = world.runtime
    rt.present_document(world.traveler().presented())
    assert wait_real(lambda: rt.state == "entry_open")  # read and checked on the worker
    world.driver.wait_for_door("entry", "open")
    world.hardware.person_enters()
    world.driver.wait_for_state("inside", limit_s=10.0)
    assert rt.state == "inside"


@pytest.fixture
def slow_finger_world() -> Any:
    """A gate whose recognition runs on the production worker, with a fingerprint engine that
    answers "match" only when the test releases it."""
    from protocol.messages import BiometricResult

    world = SimWorld()
    runner = WorkerRunner()
    world.recognition.runner = runner
    world.recognition.latency_s.clear()
    slow = Gated(BiometricResult(modality="fingerprint", match=True, score=0.9, threshold=0.5))
    world.recognition.fingerprint = slow
    walk_in_on_worker(world)
    world.runtime.place_finger("genuine")
    assert slow.started.wait(10)
    yield world, runner, slow
    runner.close()
    world.close()


def test_steps_run_on_the_worker_and_the_event_thread_stays_free(slow_finger_world) -> None:
    from edge.gate.events import FaultInput

    world, _, slow = slow_finger_world
    rt = world.runtime
    assert rt.state == "fingerprint"  # waiting on the engine, not blocked by it
    decided = len(rt.decisions)
    rt.post(FaultInput(False, None, ""))  # the event thread still handles input meanwhile
    assert len(rt.decisions) == decided + 1
    slow.release.set()
    assert wait_real(lambda: rt.state == "face")


def test_a_late_answer_for_a_gone_traveler_is_dropped(slow_finger_world) -> None:
    world, runner, slow = slow_finger_world
    rt = world.runtime
    txn = rt.machine.transaction.transaction_id
    world.driver.advance(world.recognition.step_timeout_s)  # the engine hangs: fail closed
    assert rt.state == "awaiting_supervisor" and rt.engine_failures == 1
    note = next(e for e in world.events() if e.event == "supervisor_notified")
    assert note.reason == "fingerprint_unreadable" and note.transaction_id == txn
    world.driver.advance(rt.machine.config.supervisor_timeout_s)  # no supervisor: to the counter
    world.driver.wait_for_door("entry", "open")
    world.hardware.person_backs_out()
    for _ in range(50):
        world.driver.advance(0.5)
    assert rt.state == "idle" and rt.last_outcome == "referred_to_counter"
    outcome_before, ended_before = rt.last_outcome, rt.ended_count
    slow.release.set()
    runner.close()  # the late answer has been delivered (and dropped) once this returns
    world.driver.advance(1)
    assert (rt.last_outcome, rt.ended_count) == (outcome_before, ended_before)
    assert not world.crossings


def test_prefetch_asks_central_off_the_event_thread() -> None:
    enrolments = Enrolments(status="miss")
    prefetch = Prefetcher(enrolments)
    try:
        prefetch(TRAVELER)
        assert enrolments.fetched.wait(5) and enrolments.fetches == 1
    finally:
        prefetch.close()


# ---- the document camera ----------------------------------------------------------------------
def test_the_gate_reads_the_mrz_from_the_camera_image_and_refuses_a_bad_one() -> None:
    import json
    from datetime import date

    from edge.gate.recognition import CameraMrzReader

    fixtures = Path(__file__).resolve().parents[1] / "mrz" / "fixtures"
    expected = json.loads((fixtures / "expected.json").read_text(encoding="utf-8"))["td3.jpg"]
    reader = CameraMrzReader()
    today = date(2026, 1, 1)
    page = cv2.imread(str(fixtures / "td3.jpg"), cv2.IMREAD_COLOR)
    mrz = reader.read(PresentedDocument(mrz_lines=None, image=page), today=today)
    assert mrz.document_number and mrz.document_number in expected[1]
    with pytest.raises(ValueError, match="valid check digits"):
        reader.read(PresentedDocument(mrz_lines=None, image=np.full((600, 800, 3), 255, np.uint8)), today=today)
    with pytest.raises(ValueError, match="no MRZ"):
        reader.read(PresentedDocument(mrz_lines=None), today=today)
    lines = tuple(expected)  # a passport reader that decoded the lines itself
    assert reader.read(PresentedDocument(mrz_lines=lines), today=today).document_number == mrz.document_number


def test_the_simulated_travelers_fingers_are_real_presses_for_the_engine(finger_engine) -> None:
    """The demo's path: a traveler's flag becomes a synthetic press, matched against the
    enrolment press of their own finger (``simulators.fingerprints``)."""
    from simulators.fingerprints import enrolment_press, traveler_finger

    world = SimWorld()
    traveler = world.traveler(finger_samples=("mismatch", "genuine"))
    iso = finger_engine.to_iso(finger_engine.extract(enrolment_press(traveler)))
    world.recognition.fingerprint = FingerprintVerifier(finger_engine, Enrolments(enrolled(iso=iso)))
    world.driver.render_finger = traveler_finger
    world.driver.supervisor = lambda runtime, step: "grant_retry"
    assert world.driver.run_traveler(traveler) == "crossed"
    (crossing,) = world.crossings
    assert crossing.fingerprint.match and crossing.fingerprint.attempts == 2
    note = next(e for e in world.events() if e.event == "supervisor_notified")
    assert note.reason == "fingerprint_mismatch"
