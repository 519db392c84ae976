"""Shared synthetic prints: growing a master finger costs ~0.3 s, so each is made once."""

from __future__ import annotations

import numpy as np
import pytest

from edge.fingerprint.extract import extract
from edge.fingerprint.template import Template
from simulators.fingerprints import synthetic_finger


@pytest.fixture(scope="session")
def prints() -> dict[str, list[np.ndarray]]:
    """Three impressions each of two travellers' right index fingers."""
    return {p: [synthetic_finger(p, 2).impression(i) for i in range(3)] for p in ("T-alice", "T-bob")}


@pytest.fixture(scope="session")
def templates(prints: dict[str, list[np.ndarray]]) -> dict[str, list[Template]]:
    return {p: [extract(img) for img in imgs] for p, imgs in prints.items()}
