"""A production scheduler for the gate runtime: real monotonic time, one timer thread.

Implements the same ``now_s()`` / ``call_later(delay_s, callback) -> handle`` protocol as
``edge.hardware.clock.ManualScheduler`` (tests, simulator). One daemon thread waits on a
condition until the earliest deadline or a new timer, never sleeps blindly, and stops at once on
``close()``. Callbacks run on that thread, in deadline order; one that raises is logged and the
thread carries on (a broken timer must not silence the next one).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class TimerHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class MonotonicScheduler:
    """Timers on ``time.monotonic``, run by one thread started on the first ``call_later``."""

    def __init__(self, *, name: str = "gate-timers", join_timeout_s: float = 2.0) -> None:
        self._name = name
        self._join_timeout_s = join_timeout_s
        self._heap: list[tuple[float, int, TimerHandle, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def now_s(self) -> float:
        return time.monotonic()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle()
        with self._wake:
            if self._stopping:
                raise RuntimeError(f"scheduler {self._name} is closed")
            heapq.heappush(self._heap, (self.now_s() + max(0.0, delay_s), next(self._order), handle, callback))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()
        return handle

    @property
    def pending(self) -> int:
        with self._wake:
            return sum(1 for entry in self._heap if not entry[2].cancelled)

    def close(self) -> None:
        """Stop the thread; pending timers are dropped. Safe to call twice."""
        with self._wake:
            self._stopping = True
            self._heap.clear()
            self._wake.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._join_timeout_s)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping:
                    if not self._heap:
                        self._wake.wait()
                        continue
                    wait_s = self._heap[0][0] - self.now_s()
                    if wait_s <= 0:
                        break
                    self._wake.wait(wait_s)
                if self._stopping:
                    return
                _, _, handle, callback = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            try:
                callback()
            except Exception:  # one bad timer must not stop the others
                log.exception("timer callback failed")
