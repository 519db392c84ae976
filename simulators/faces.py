"""Faces for the demo's travellers: who each one is, the photo enrolled for them, and what the
gate camera sees of them (simulators/faces/, public domain; or a folder the user names).

Everything is a pure function of the traveller and the attempt, so the enroller and the gate
(separate processes) agree on who is who. A "genuine" sample is another photo of the same person,
or the enrolment photo as a camera would take it again; a "mismatch" is another person's photo
(an impostor, refused by the real engine); "unreadable" is a frame too dark and blurred to use.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

DEFAULT_FACES_DIR = Path(__file__).with_name("faces")
CAMERA_SIZE = (640, 480)  # width, height of the gate camera's frame
BURST = 3  # frames per capture


@dataclass(frozen=True)
class FaceBook:
    """The people whose photos the demo may use, each with one or more photos (BGR)."""

    people: dict[str, tuple[np.ndarray, ...]]

    @classmethod
    def load(cls, directory: Path | None = None) -> FaceBook:
        """One person per sub-folder, or per file name without its trailing digits
        (``obama.jpg`` and ``obama2.jpg`` are one person)."""
        directory = directory or DEFAULT_FACES_DIR
        people: dict[str, list[np.ndarray]] = {}
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png") or not path.is_file():
                continue
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("demo faces: %s is not an image; skipped", path)
                continue
            person = path.parent.name if path.parent != directory else re.sub(r"\d+$", "", path.stem) or path.stem
            people.setdefault(person, []).append(image)
        if len(people) < 2:
            raise ValueError(f"{directory}: the demo needs photos of at least two people (an impostor must exist)")
        return cls({name: tuple(images) for name, images in sorted(people.items())})

    @property
    def names(self) -> list[str]:
        return list(self.people)

    def person_of(self, traveler_id: str) -> str:
        return self.names[_stable(traveler_id) % len(self.names)]

    def impostor_of(self, traveler_id: str) -> str:
        others = [n for n in self.names if n != self.person_of(traveler_id)]
        return others[_stable(traveler_id + "/impostor") % len(others)]

    def enrolment_photo(self, traveler_id: str) -> np.ndarray:
        """The photo taken at passport issuance (also printed on the data page)."""
        return self.people[self.person_of(traveler_id)][0]

    def capture(self, traveler: object, sample: str, attempt: int) -> tuple[np.ndarray, ...]:
        """What the gate camera takes of *traveler* at *attempt*: a short burst of frames."""
        traveler_id = str(getattr(traveler, "traveler_id"))
        seed = _stable(f"{traveler_id}/{attempt}/{sample}")
        rng = np.random.default_rng(seed)
        if sample == "mismatch":
            photos = self.people[self.impostor_of(traveler_id)]
        else:
            photos = self.people[self.person_of(traveler_id)]
        # another photo of the person when there is one, else the enrolment photo retaken
        photo = photos[(attempt + 1) % len(photos)] if len(photos) > 1 else photos[0]
        frames = tuple(_camera_frame(photo, rng, dark=(sample == "unreadable")) for _ in range(BURST))
        return frames


def _stable(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _camera_frame(photo: np.ndarray, rng: np.random.Generator, *, dark: bool = False) -> np.ndarray:
    """The photo as the gate camera would see the person: placed in a wider frame, moved, turned
    a few degrees, differently lit, with sensor noise (or far too dark and blurred)."""
    width, height = CAMERA_SIZE
    frame = np.full((height, width, 3), rng.uniform(70, 150), np.float32)
    scale = rng.uniform(0.75, 0.95) * height / photo.shape[0]
    resized = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    h, w = resized.shape[:2]
    x0 = int((width - w) / 2 + rng.uniform(-30, 30))
    y0 = int((height - h) / 2 + rng.uniform(-15, 15))
    x0, y0 = max(0, min(width - w, x0)), max(0, min(height - h, y0))
    frame[y0:y0 + h, x0:x0 + w] = resized
    turn = cv2.getRotationMatrix2D((x0 + w / 2, y0 + h / 2), rng.uniform(-5, 5), 1.0)
    frame = cv2.warpAffine(frame, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    frame = frame * rng.uniform(0.85, 1.15) + rng.uniform(-12, 12)
    if dark:
        frame = cv2.GaussianBlur(frame * 0.08, (0, 0), 6)
    frame += rng.normal(0, 3, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)
