"""Anti-passback: a pure memory of documents that crossed recently (SOP §3 "last movement").

A document that crossed at this gate (or at any gate sharing the memory) within ``window_ms``
is refused at the next scan, so one passport cannot carry two people through. The memory holds
only issuing state + document number, never names, and forgets entries older than the window.
"""

from __future__ import annotations

from collections import OrderedDict


def document_key(issuing_state: str, document_number: str) -> str:
    return f"{issuing_state.upper()}:{document_number.upper()}"


class PassbackMemory:
    """Recently used documents, oldest first. ``window_ms == 0`` turns the check off."""

    def __init__(self, window_ms: int, *, max_entries: int = 100_000) -> None:
        if window_ms < 0:
            raise ValueError("window_ms must be >= 0")
        self.window_ms = window_ms
        self.max_entries = max_entries
        self._seen: OrderedDict[str, int] = OrderedDict()

    def used_recently(self, key: str, now_ms: int) -> bool:
        self._forget(now_ms)
        last = self._seen.get(key)
        return self.window_ms > 0 and last is not None and now_ms - last < self.window_ms

    def remember(self, key: str, now_ms: int) -> None:
        if self.window_ms == 0:
            return
        self._seen.pop(key, None)
        self._seen[key] = now_ms
        self._forget(now_ms)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)

    def _forget(self, now_ms: int) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now_ms - at < self.window_ms:
                return
            del self._seen[key]
