"""The traveler's stations: the passport reader, the fingerprint sensor and the face camera, fed
into a ``GateRuntime`` when the machine is waiting for them.

The devices are the drivers of ``edge/hardware`` (serial passport reader, R30x/AS608 sensor) and
any camera with OpenCV's ``read() -> (ok, frame)``; tests and simulations hand in the pty
simulators or a list of frames. One station thread watches the machine's state: while the
traveler is ``inside`` it polls the sensor (GenImg) and sends the first image; in ``face`` it
shows a liveness challenge, takes a short burst and sends it; in ``held`` it takes one burst for
the officer (who is held?). Each is sent once per attempt (a retry the supervisor grants is a new
attempt). A device error is logged and counted; the
station goes on and the machine's own timers send the traveler to an officer if nothing comes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import cv2
import numpy as np

from edge.gate.biometrics import FaceSample
from edge.imageload import DOCUMENT_LIMITS, ImageLimits, ImageRefused, ImageSettings, decode_image
from edge.gate.recognition import PresentedDocument

log = logging.getLogger(__name__)


class Camera(Protocol):
    def read(self) -> tuple[bool, np.ndarray | None]: ...


class OpenCvCamera:
    """A camera by device index ("0") or stream URL, through ``cv2.VideoCapture``."""

    def __init__(self, source: str) -> None:
        self._capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
        if not self._capture.isOpened():
            raise OSError(f"camera {source!r} cannot be opened")

    def read(self) -> tuple[bool, np.ndarray | None]:
        return self._capture.read()

    def close(self) -> None:
        self._capture.release()


def presented_from_reader(document: Any, *, limits: ImageLimits = DOCUMENT_LIMITS) -> PresentedDocument:
    """A passport reader's record (``edge.hardware.passport_reader.DocumentRead``) for the runtime:
    the decoded lines, and the page image for the OCR reader and the document portrait."""
    page = None
    if document.image:
        try:
            page = decode_image(bytes(document.image), limits=limits)
        except ImageRefused as exc:
            log.warning("passport reader: page image (%s, %d bytes) refused (%s): %s", document.image_format,
                        len(document.image), exc.reason, exc)
    lines = tuple(document.mrz_lines) or None
    return PresentedDocument(mrz_lines=lines, image=page)


class Stations:
    """Feeds the devices into *runtime*; ``start()`` then ``close()``.

    :param reader: a ``PassportReader`` (its ``when_document`` is set here), or None.
    :param sensor: a ``FingerprintSensor``, or None.
    :param camera: a ``Camera``, or None.
    :param show_challenge: called with the liveness challenge before the burst (the traveler's
        screen shows "blink" or "turn your head").
    """

    def __init__(self, runtime: Any, *, reader: Any = None, sensor: Any = None, camera: Camera | None = None,
                 burst_frames: int = 8, burst_s: float = 1.5, poll_s: float = 0.1,
                 show_challenge: Callable[[Any], None] | None = None, rng: random.Random | None = None,
                 images: ImageSettings | None = None) -> None:
        self.runtime = runtime
        self.images = images or ImageSettings()
        self.reader, self.sensor, self.camera = reader, sensor, camera
        self.burst_frames, self.burst_s, self.poll_s = burst_frames, burst_s, poll_s
        self.show_challenge = show_challenge
        self.rng = rng or random.SystemRandom()
        self.device_errors = 0
        self._served: dict[str, tuple[str, int]] = {}  # station -> (transaction, attempt) already sent
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"gate-{runtime.gate_id}-stations", daemon=True)

    def start(self) -> Stations:
        if self.reader is not None:
            self.reader.when_document = self._on_document
        if self.sensor is not None or self.camera is not None:
            self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self.reader is not None:
            self.reader.when_document = None
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    # -- the document --------------------------------------------------------------------------
    def _on_document(self, document: Any) -> None:
        try:
            self.runtime.present_document(presented_from_reader(document, limits=self.images.document))
        except Exception:  # a bad record must not stop the reader thread
            self.device_errors += 1
            log.exception("gate %s: passport reader record not usable", self.runtime.gate_id)

    # -- the finger and the face ---------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                self.step()
            except Exception:
                self.device_errors += 1
                log.exception("gate %s: station step failed", self.runtime.gate_id)

    def step(self) -> None:
        """One look at the machine: serve the station it is waiting for (the thread calls this)."""
        state = self.runtime.state
        if state == "inside" and self.sensor is not None:
            self._serve("fingerprint", self._finger)
        elif state in ("face", "held") and self.camera is not None:
            # In a hold the camera shows the officer who is inside (B3), once per transaction.
            self._serve("face", self._face)

    def _serve(self, station: str, capture: Callable[[], Any]) -> None:
        txn = self.runtime.machine.transaction
        if txn is None:
            return
        attempt = (txn.transaction_id, int(txn.retries.get(station, 0)))
        if self._served.get(station) == attempt:
            return
        sample = capture()
        if sample is None:
            return  # nothing yet (no finger on the glass): look again next poll
        self._served[station] = attempt
        if station == "fingerprint":
            self.runtime.place_finger(sample)
        else:
            self.runtime.show_face(sample)

    def _finger(self) -> np.ndarray | None:
        if not self.sensor.capture_image():
            return None
        return self.sensor.upload_image()

    def _face(self) -> FaceSample | None:
        from edge.face.liveness import pick_challenge

        challenge = pick_challenge(self.rng)
        if self.show_challenge is not None:
            self.show_challenge(challenge)
        frames: list[np.ndarray] = []
        started = time.monotonic()
        interval = self.burst_s / max(1, self.burst_frames)
        while len(frames) < self.burst_frames and not self._stopping.is_set():
            ok, frame = self.camera.read()
            if ok and frame is not None:
                frames.append(frame)
            elif time.monotonic() - started > self.burst_s * 2:
                break  # the camera stopped giving frames: send what there is
            self._stopping.wait(max(0.0, started + interval * len(frames) - time.monotonic()))
        if not frames:
            raise OSError("camera gave no frame")
        return FaceSample(frames=tuple(frames), challenge=challenge)
