"""Fixtures for the gate tests (the harness itself lives in gate_harness.py, a unique module name)."""

from __future__ import annotations

import pytest
from gate_harness import Harness  # type: ignore[import-not-found]

from edge.gate.config import GateConfig
from edge.gate.machine import GateMachine


@pytest.fixture
def harness() -> Harness:
    """A fresh machine for gate "g1" at t=0, with its initial state announced."""
    h = Harness(GateMachine(GateConfig(gate_id="g1")))
    h.machine.start(0)
    return h
