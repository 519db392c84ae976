"""Who is in the mantrap, worked out from the beam sensors alone (pure, no I/O).

Beam layout, from the entry side to the exit side::

    outside | entry beam | zone beam 0 ... zone beam n-1 | exit beam | outside
              (doorway)    (inside the mantrap)            (doorway)

Each doorway beam and the zone beam next to it form a direction pair. When a doorway beam
clears, the zone beam beside it tells which way the body went: still blocked means it moved
inward; clear, having been blocked when the doorway beam was first broken, means it came from
inside and left. A clear zone beam between two blocked ones means two bodies: tailgating, even
when the second slipped through the doorway on the first one's heels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edge.hardware.base import HardwareEvent, HardwareEventKind

BeamName = str  # "entry", "exit" or "zone<i>"


def zone_beam(index: int) -> BeamName:
    return f"zone{index}"


def bodies(blocked: list[bool]) -> int:
    """How many separate runs of blocked beams there are: a clear beam between runs means two bodies."""
    return sum(1 for i, b in enumerate(blocked) if b and (i == 0 or not blocked[i - 1]))


@dataclass
class MantrapTracker:
    """Counts people in the mantrap from beam changes and turns them into hardware events.

    ``zone_beams`` is how many beams cross the mantrap floor (at least one).
    """

    zone_beams: int = 3
    _crossed: int = 0  # people counted in through a doorway and not yet out
    _blocked: dict[BeamName, bool] = field(default_factory=dict)
    _from_inside: dict[Literal["entry", "exit"], bool] = field(default_factory=dict)
    _tailgating_reported: bool = False

    def __post_init__(self) -> None:
        if self.zone_beams < 1:
            raise ValueError("the mantrap needs at least one zone beam")
        for name in self.beam_names:
            self._blocked[name] = False

    @property
    def beam_names(self) -> list[BeamName]:
        return ["entry", *(zone_beam(i) for i in range(self.zone_beams)), "exit"]

    @property
    def zone(self) -> list[bool]:
        return [self._blocked[zone_beam(i)] for i in range(self.zone_beams)]

    @property
    def count(self) -> int:
        """People inside: those counted in, or the separate bodies on the zone beams if more."""
        return max(self._crossed, bodies(self.zone))

    def is_blocked(self, beam: BeamName) -> bool:
        return self._blocked[beam]

    def update(self, beam: BeamName, blocked: bool) -> list[HardwareEvent]:
        """Feed one beam change; return the events it implies (often none)."""
        if beam not in self._blocked:
            raise ValueError(f"unknown beam {beam!r}; expected one of {self.beam_names}")
        if self._blocked[beam] == blocked:
            return []
        self._blocked[beam] = blocked
        events: list[HardwareEvent] = []
        if beam in ("entry", "exit"):
            doorway: Literal["entry", "exit"] = "entry" if beam == "entry" else "exit"
            inner = zone_beam(0 if doorway == "entry" else self.zone_beams - 1)
            if blocked:
                self._from_inside[doorway] = self._blocked[inner]
            else:
                events += self._doorway_cleared(doorway, inner)
        if self.count < 2:
            self._tailgating_reported = False
        elif not self._tailgating_reported:
            self._tailgating_reported = True
            detail = f"{max(self.count, 2)} people in the mantrap"
            events.append(HardwareEvent(HardwareEventKind.TAILGATING, None, detail))
        return events

    def _doorway_cleared(self, doorway: Literal["entry", "exit"], inner: BeamName) -> list[HardwareEvent]:
        came_from_inside = self._from_inside.pop(doorway, False)
        if self._blocked[inner]:
            if came_from_inside:
                return []  # stood in the doorway and stepped back in
            self._crossed += 1
            return [HardwareEvent(HardwareEventKind.PERSON_ENTERED, doorway)]
        if not came_from_inside:
            return []  # reached in from outside and withdrew
        self._crossed = max(0, self._crossed - 1)
        kind = HardwareEventKind.PERSON_BACKED_OUT if doorway == "entry" else HardwareEventKind.PERSON_EXITED
        events = [HardwareEvent(kind, doorway)]
        if self.count == 0:
            events.append(HardwareEvent(HardwareEventKind.MANTRAP_CLEAR))
        return events
