"""MantrapTracker: people counting from beams alone (pure)."""

from __future__ import annotations

import pytest

from edge.hardware.base import HardwareEventKind as K
from edge.hardware.mantrap import MantrapTracker, bodies


def feed(tracker, steps):
    events = []
    for beam, blocked in steps:
        events += tracker.update(beam, blocked)
    return [(e.kind, e.door) for e in events]


ENTER = [("entry", True), ("zone0", True), ("entry", False), ("zone0", False)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [([], 0), ([False, False], 0), ([True, True, False], 1), ([True, False, True], 2), ([True, False, True, False, True], 3)],
)
def test_bodies(pattern, expected):
    assert bodies(pattern) == expected


def test_enter_then_exit():
    t = MantrapTracker(zone_beams=1)
    assert feed(t, ENTER) == [(K.PERSON_ENTERED, "entry")]
    assert t.count == 1
    exit_steps = [("zone0", True), ("exit", True), ("zone0", False), ("exit", False)]
    assert feed(t, exit_steps) == [(K.PERSON_EXITED, "exit"), (K.MANTRAP_CLEAR, None)]


def test_reaching_in_and_withdrawing_counts_nobody():
    t = MantrapTracker()
    assert feed(t, [("entry", True), ("entry", False)]) == []
    assert t.count == 0


def test_standing_in_the_doorway_from_inside_and_stepping_back_in():
    t = MantrapTracker()
    feed(t, ENTER)
    assert feed(t, [("zone0", True), ("entry", True), ("entry", False)]) == []
    assert t.count == 1


def test_second_crossing_is_tailgating_once():
    t = MantrapTracker()
    feed(t, ENTER)
    events = feed(t, ENTER)
    assert events == [(K.PERSON_ENTERED, "entry"), (K.TAILGATING, None)]
    assert feed(t, [("zone1", True), ("zone1", False)]) == []  # not reported again


def test_gap_between_bodies_is_tailgating_even_with_one_crossing():
    t = MantrapTracker(zone_beams=3)
    feed(t, ENTER)
    events = feed(t, [("zone2", True), ("zone0", True)])
    assert events == [(K.TAILGATING, None)]
    assert t.count == 2


def test_unknown_beam_is_rejected():
    with pytest.raises(ValueError, match="unknown beam 'zone9'"):
        MantrapTracker().update("zone9", True)
