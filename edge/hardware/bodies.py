"""Travelers' bodies walking along a gate's beam track (pure; no pins, no clock), for the
simulated gate hardware and the door board's simulated beams alike.

Track cells, entry side first: 0 is the entry doorway beam, 1..n the zone beams across the mantrap
floor, n+1 the exit doorway beam. A body blocks the cell it stands in, and two cells mid-step: it
breaks the next beam before it clears the one behind, as a walking person does. Every change of
a beam goes to ``set_beam(index, blocked)`` one at a time, in order, so whoever listens (the door
board's beam inputs) sees each change on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from edge.hardware.errors import SimulationError

SetBeam = Callable[[int, bool], None]


@dataclass
class _Body:
    cells: list[int] = field(default_factory=list)

    @property
    def front(self) -> int:
        return max(self.cells)

    @property
    def back(self) -> int:
        return min(self.cells)


class MantrapBodies:
    """The people in one mantrap, moved by the simulated travelers.

    :param zone_beams: beams across the mantrap floor.
    :param set_beam: called with (track index, blocked) for each beam that changes.
    """

    def __init__(self, zone_beams: int, set_beam: SetBeam) -> None:
        self.zone_beams = zone_beams
        self._set_beam = set_beam
        self._bodies: list[_Body] = []
        self._blocked = [False] * (zone_beams + 2)

    @property
    def count(self) -> int:
        return len(self._bodies)

    @property
    def exit_index(self) -> int:
        return self.zone_beams + 1

    def enter(self) -> None:
        """One traveler walks in through the entry doorway and stops at the far end of the floor."""
        body = _Body([0])
        self._bodies.append(body)
        self._refresh(0)
        self._walk(body, self._stop_index(body))

    def tailgate(self) -> None:
        """Two travelers pass the entry doorway as one body; the second stops just inside."""
        first, second = _Body([0]), _Body([0])
        self._bodies += [first, second]
        self._refresh(0)
        self._walk(first, self._stop_index(first))
        self._walk(second, 1)

    def exit(self) -> None:
        """The traveler nearest the exit walks out through the exit doorway."""
        body = self._nearest(exit_side=True)
        self._walk(body, self.exit_index)
        self._leave(body)

    def back_out(self) -> None:
        """The traveler nearest the entry walks back out the way they came."""
        body = self._nearest(exit_side=False)
        self._walk(body, 0)
        self._leave(body)

    def _nearest(self, *, exit_side: bool) -> _Body:
        if not self._bodies:
            raise SimulationError("nobody is in the mantrap")
        if exit_side:
            return max(self._bodies, key=lambda b: b.front)
        return min(self._bodies, key=lambda b: b.back)

    def _stop_index(self, body: _Body) -> int:
        ahead = [b.back for b in self._bodies if b is not body and b.back > body.front]
        return min([self.zone_beams, *(a - 1 for a in ahead)])

    def _walk(self, body: _Body, target: int) -> None:
        while body.cells != [target]:
            (here,) = body.cells
            there = here + (1 if target > here else -1)
            body.cells = [here, there]
            self._refresh(there)
            body.cells = [there]
            self._refresh(here)

    def _leave(self, body: _Body) -> None:
        self._bodies.remove(body)
        for cell in body.cells:
            self._refresh(cell)

    def _refresh(self, index: int) -> None:
        blocked = any(index in b.cells for b in self._bodies)
        if blocked != self._blocked[index]:
            self._blocked[index] = blocked
            self._set_beam(index, blocked)
