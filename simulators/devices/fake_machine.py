"""A fake MicroPython ``machine`` module, so the door board firmware runs on CPython.

Install it with ``with FakeMachine().installed() as machine: ...`` (it goes into
``sys.modules["machine"]`` and comes out again). Pins remember every value written to them
(``history``), and the outside world sets inputs with ``drive``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from collections.abc import Iterator


class FakePin:
    """``machine.Pin``: value(), value(v), and for tests drive(v) and history."""

    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, machine: FakeMachine, id: int, mode: int = -1, pull: int = -1, value: int | None = None) -> None:
        self.id = id
        self.mode = mode
        self.pull = pull
        if value is not None:
            self._value = int(bool(value))
        else:
            self._value = 1 if pull == self.PULL_UP else 0
        self.history: list[int] = [self._value]
        machine.pins[id] = self

    def value(self, v: int | None = None) -> int | None:
        if v is None:
            return self._value
        if self.mode == self.IN:
            raise OSError(f"pin {self.id} is an input")
        self._set(int(bool(v)))
        return None

    def drive(self, v: int | bool) -> None:
        """The outside world sets an input pin."""
        self._set(int(bool(v)))

    def _set(self, v: int) -> None:
        if v != self._value:
            self._value = v
            self.history.append(v)

    def __call__(self, v: int | None = None) -> int | None:
        return self.value(v)

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)


class FakeWDT:
    """``machine.WDT``: counts feeds; never resets anything."""

    def __init__(self, id: int = 0, timeout: int = 5000) -> None:
        self.timeout = timeout
        self.feeds = 0

    def feed(self) -> None:
        self.feeds += 1


class FakeMachine(types.ModuleType):
    """One board's worth of ``machine``: its pins live in ``pins`` by number."""

    def __init__(self) -> None:
        super().__init__("machine")
        self.pins: dict[int, FakePin] = {}
        machine = self

        class Pin(FakePin):
            def __init__(self, id: int, mode: int = -1, pull: int = -1, value: int | None = None) -> None:
                super().__init__(machine, id, mode, pull, value)

        self.Pin = Pin
        self.WDT = FakeWDT

    @contextlib.contextmanager
    def installed(self) -> Iterator[FakeMachine]:
        with _install_lock:
            saved = sys.modules.get("machine")
            sys.modules["machine"] = self
            try:
                yield self
            finally:
                if saved is None:
                    sys.modules.pop("machine", None)
                else:
                    sys.modules["machine"] = saved


_install_lock = threading.Lock()
