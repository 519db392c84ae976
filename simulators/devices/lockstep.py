"""A fake clock shared by the edge and the simulated door board firmware.

``SteppedScheduler`` is a ``ManualScheduler`` that moves in fixed millisecond slices. For each
slice it calls ``move(end_ms)`` (the door plant moves through the slice with the motors as they
were driven at its start), runs the timers due in it, then calls ``on_step(end_ms)`` (one firmware
loop pass) and ``settle()`` (wait until both sides have handled everything in flight) after each,
so firmware and edge see the same time and a run is the same on every machine, however loaded.

While ``busy()`` says nothing moves (no motor driven, no event waiting), slices stretch to
``coarse_ms`` but never past the next due timer, so idle minutes (a held traveler waiting for an
officer) cost little. That is exact as long as no callback is scheduled less than ``coarse_ms``
ahead from inside a slice; the gate's shortest delay is 200 ms (the document check).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from edge.hardware.clock import ManualScheduler

log = logging.getLogger(__name__)


def _nothing() -> None:
    return None


def _no_step(now_ms: int) -> None:
    return None


def _always() -> bool:
    return True


class SteppedScheduler(ManualScheduler):
    """A fake clock that advances ``step_ms`` at a time, stepping the world between slices.

    :param step_ms: slice length while something moves; the firmware's loop and the plant see time
        in these steps.
    :param coarse_ms: slice length while ``busy()`` is False (a multiple of ``step_ms``).
    """

    def __init__(self, step_ms: int = 10, coarse_ms: int = 100) -> None:
        super().__init__(0.0)
        if step_ms < 1 or coarse_ms < step_ms or coarse_ms % step_ms:
            raise ValueError("step_ms must be at least 1 and coarse_ms a multiple of it")
        self.step_ms = step_ms
        self.coarse_ms = coarse_ms
        self.busy: Callable[[], bool] = _always
        self.move: Callable[[int], None] = _no_step
        self.on_step: Callable[[int], None] = _no_step
        self.settle: Callable[[], None] = _nothing
        self._ms = 0

    def now_ms(self) -> int:
        return round(self.now_s() * 1000)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards by {seconds} s")
        target_ms = self._ms + round(seconds * 1000)
        self.settle()  # whatever the caller just did (a command, a footstep) lands at this time
        while self._ms < target_ms:
            next_ms = self._slice_end(target_ms)
            self.move(next_ms)
            super().advance(next_ms / 1000 - self.now_s())  # runs the timers due in this slice
            self.settle()
            self._ms = next_ms
            # snap to the ms grid, so thousands of slices leave no float drift in the trace
            self._now_s = next_ms / 1000
            self.on_step(next_ms)
            self.settle()

    def _slice_end(self, target_ms: int) -> int:
        fine_ms = (self._ms // self.step_ms + 1) * self.step_ms
        if self.busy():
            return min(target_ms, fine_ms)
        end_ms = min(target_ms, (self._ms // self.coarse_ms + 1) * self.coarse_ms)
        due = self._next_due_s()
        if due is not None:
            # end on the fine grid just at (or after) the timer, as fine slices would have
            due_ms = math.ceil(round(due * 1000, 6) / self.step_ms) * self.step_ms
            end_ms = min(end_ms, max(fine_ms, due_ms))
        return end_ms

    def _next_due_s(self) -> float | None:
        with self._lock:
            # the heap is the parent's; cancelled entries only make the slice shorter
            return self._heap[0][0] if self._heap else None
