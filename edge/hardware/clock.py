"""Schedulers that time door movements: a manual one for tests and the simulator, a threaded one
for real time.

Both offer ``now_s()`` and ``call_later(delay_s, callback) -> handle`` with ``handle.cancel()``.
Adapters take a scheduler as a keyword argument, so tests move time with ``advance`` instead of
sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def now_s(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Cancellable: ...


class _ManualHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """A fake clock: time moves only when ``advance`` is called, and due callbacks run in order.

    Callbacks run on the caller's thread inside ``advance``; one scheduled by a callback for a
    time that is already due runs in the same ``advance``.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._heap: list[tuple[float, int, _ManualHandle, Callable[[], None]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    def now_s(self) -> float:
        return self._now_s

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> _ManualHandle:
        handle = _ManualHandle()
        with self._lock:
            heapq.heappush(self._heap, (self._now_s + max(0.0, delay_s), next(self._order), handle, callback))
        return handle

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``, running every callback that falls due."""
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards by {seconds} s")
        target_s = self._now_s + seconds
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target_s:
                    break
                due_s, _, handle, callback = heapq.heappop(self._heap)
                self._now_s = max(self._now_s, due_s)
            if not handle.cancelled:
                callback()
        self._now_s = target_s

    @property
    def pending(self) -> int:
        """How many callbacks are scheduled and not cancelled."""
        return sum(1 for entry in self._heap if not entry[2].cancelled)


class ThreadScheduler:
    """Real time: each callback runs on its own daemon ``threading.Timer``."""

    def now_s(self) -> float:
        return time.monotonic()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> threading.Timer:
        timer = threading.Timer(max(0.0, delay_s), callback)
        timer.daemon = True
        timer.start()
        return timer
