"""The set of active hardware faults, turned into DOOR_FAULT / FAULT / FAULT_CLEARED events.

Every adapter keeps one: ``FAULT`` is sent when the first fault appears (the gate machine moves
to ``fault``), ``FAULT_CLEARED`` when the last one recovers, and each fault also names its door.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge.hardware.base import DoorName, HardwareEventKind

log = logging.getLogger(__name__)

Emit = Callable[[HardwareEventKind, DoorName | None, str], None]


class FaultSet:
    """Active faults by key (``"entry:jam"``, ``"exit:sensor"``, ``"board:link"``)."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._active: dict[str, str] = {}

    @property
    def active(self) -> dict[str, str]:
        return dict(self._active)

    def __bool__(self) -> bool:
        return bool(self._active)

    def raise_(self, key: str, door: DoorName | None, detail: str) -> None:
        if key in self._active:
            return
        first = not self._active
        self._active[key] = detail
        log.warning("hardware fault %s: %s", key, detail)
        if door is not None:
            self._emit(HardwareEventKind.DOOR_FAULT, door, detail)
        if first:
            self._emit(HardwareEventKind.FAULT, door, detail)

    def clear(self, key: str) -> None:
        if self._active.pop(key, None) is None:
            return
        log.info("hardware fault %s cleared", key)
        if not self._active:
            self._emit(HardwareEventKind.FAULT_CLEARED, None, "")

    def clear_door(self, door: DoorName) -> None:
        for key in [k for k in self._active if k.startswith(f"{door}:")]:
            self.clear(key)
