"""``EventRecorder``: a listener that keeps every hardware event and lets a thread wait for one.

For tests and tools that drive a threaded adapter (door board, GPIO): wait on a condition with
a timeout instead of sleeping.
"""

from __future__ import annotations

import threading

from edge.hardware.base import DoorName, GateHardware, HardwareEvent, HardwareEventKind


class EventRecorder:
    def __init__(self, hardware: GateHardware | None = None) -> None:
        self.events: list[HardwareEvent] = []
        self._cond = threading.Condition()
        if hardware is not None:
            hardware.on_event(self)

    def __call__(self, event: HardwareEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self) -> list[tuple[HardwareEventKind, DoorName | None]]:
        with self._cond:
            return [(e.kind, e.door) for e in self.events]

    def wait_for(
        self, kind: HardwareEventKind, door: DoorName | None = None, *, timeout_s: float = 5.0, after: int = 0
    ) -> HardwareEvent:
        """The first event of ``kind`` (for ``door``, if given) at index ``after`` or later.

        Raises ``TimeoutError`` if none arrives within ``timeout_s``.
        """

        def find() -> HardwareEvent | None:
            for event in self.events[after:]:
                if event.kind is kind and (door is None or event.door == door):
                    return event
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout=timeout_s)
        if found is None:
            raise TimeoutError(f"no {kind} event{' for ' + door if door else ''} within {timeout_s} s")
        return found

    def mark(self) -> int:
        """An index to pass as ``after``: only events from now on."""
        with self._cond:
            return len(self.events)
