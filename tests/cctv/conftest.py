"""Fixtures for the CCTV tests: the real face models, and walk-past sequences synthesised from the
public-domain portraits in tests/face/data (never from ../shared/data).

obama.jpg is the enrolled photo of the watchlisted person; obama2.jpg and obama3.jpg are other
photos of him, which walk past the camera; biden.jpg and astronaut.jpg are people not on the
list (biden is listed in some tests, to have a second entry)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.face import FaceEngine

ROOT = Path(__file__).resolve().parents[2]
PORTRAITS = ROOT / "tests" / "face" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def cctv_engine() -> FaceEngine:
    """The engine as a camera node builds it (the detector on a 640 px long side)."""
    return FaceEngine.from_models(embedder_model="face-mobilefacenet", detector_input_px=640,
                                  face_selection="largest")


@pytest.fixture(scope="session")
def portraits() -> dict[str, np.ndarray]:
    return {p.stem: cv2.imread(str(p)) for p in sorted(PORTRAITS.glob("*.jpg"))}


@pytest.fixture(scope="session")
def face_boxes(cctv_engine: FaceEngine, portraits: dict[str, np.ndarray]) -> dict[str, tuple]:
    return {name: cctv_engine.primary_face(image).box for name, image in portraits.items()}
