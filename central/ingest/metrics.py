"""Thread-safe ingest counters that tests and the health endpoint can wait on or read."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping


class IngestMetrics:
    """Named counters (``received``, ``stored``, ``duplicate``, ``rejected_<reason>``, ...)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._changed = threading.Condition()

    def inc(self, name: str, amount: int = 1) -> None:
        with self._changed:
            self._counts[name] += amount
            self._changed.notify_all()

    def snapshot(self) -> dict[str, int]:
        with self._changed:
            return dict(self._counts)

    def __getitem__(self, name: str) -> int:
        with self._changed:
            return self._counts[name]

    def wait_until(self, predicate: Callable[[Mapping[str, int]], bool], timeout: float) -> bool:
        """Block until ``predicate(counts)`` holds or *timeout* seconds pass; no polling sleeps."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self._counts), timeout=timeout)
