"""Shared fixtures: the real models (committed in models/face) and public-domain test portraits."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.face import FaceEngine

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parents[2]
# The attack simulator lives in bench/face (not an installed package); make it importable however
# pytest is started (`pytest`, `python -m pytest`, from another directory).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.from_models()


@pytest.fixture(scope="session")
def portraits() -> dict[str, np.ndarray]:
    return {p.stem: cv2.imread(str(p)) for p in sorted(DATA.glob("*.jpg"))}


@pytest.fixture(scope="session")
def portrait_paths() -> dict[str, str]:
    return {p.stem: str(p) for p in sorted(DATA.glob("*.jpg"))}
