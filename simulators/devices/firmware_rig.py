"""A step-by-step harness for the door board firmware on CPython: fake ``machine``, a UART that
decodes what the board writes, the door plant and a ms clock that only moves in ``run``.

Used by the firmware tests and handy at a REPL::

    rig = FirmwareRig(); rig.command(P.OPEN, bytes([P.DOOR_ENTRY])); rig.run(1100)
"""

from __future__ import annotations

import types

from firmware import board_config, main
from firmware import protocol as P
from simulators.devices.door_plant import DoorPlant
from simulators.devices.fake_machine import FakeMachine


class Uart:
    """``machine.UART`` stand-in: ``rx`` is what the board will read; its writes are decoded."""

    def __init__(self) -> None:
        self.rx = bytearray()  # bytes the board will read
        self.decoder = P.Decoder()
        self.frames: list[tuple[int, int | None, bytes]] = []

    def write(self, data: bytes) -> int:
        self.frames += self.decoder.feed(data)
        return len(data)

    def any(self) -> int:
        return len(self.rx)

    def read(self, n: int) -> bytes:
        out, self.rx[:] = bytes(self.rx[:n]), self.rx[n:]
        return out


class FirmwareRig:
    """One board, its plant and a clock; ``**overrides`` replace board_config values (e.g. WATCHDOG_MS)."""

    def __init__(self, **overrides: int) -> None:
        config = types.SimpleNamespace(**{k: getattr(board_config, k) for k in dir(board_config) if k.isupper()})
        config.WATCHDOG_MS, config.MOVE_TIMEOUT_MS, config.RESEND_MS = 1500, 3000, 200
        for key, value in overrides.items():
            setattr(config, key, value)
        self.machine = FakeMachine()
        self.uart = Uart()
        with self.machine.installed():
            self.board = main.build(self.uart, now_ms=0, config=config)
        self.plant = DoorPlant(self.machine, config, door_move_ms=1000)
        self.config = config
        self.now = 0
        self.seq = 0
        self.events: list[tuple[int, int, bytes]] = []

    def run(self, ms: int, step: int = 10, ack: bool = True) -> None:
        """Advance time; unless ``ack`` is False the edge is alive: it ACKs events and pings."""
        for _ in range(ms // step):
            self.now += step
            if ack and self.now % 500 == 0:
                self.board.receive(P.encode(0, P.PING), self.now)
            self.plant.step(self.now)
            self.board.tick(self.now)
            self._collect(ack)

    def _collect(self, ack: bool) -> None:
        for seq, cmd, payload in self.uart.frames:
            if cmd == P.EVENT:
                self.events.append((payload[0], payload[1], payload[2:]))
                if ack:
                    self.board.receive(P.encode(seq, P.ACK), self.now)
        self.uart.frames.clear()

    def command(self, cmd: int, payload: bytes = b"") -> tuple[int, bytes]:
        self.seq = (self.seq + 1) & 0xFF
        self.uart.frames.clear()
        self.board.receive(P.encode(self.seq, cmd, payload), self.now)
        replies = [f for f in self.uart.frames if f[1] in (P.ACK, P.NAK)]
        if len(replies) != 1 or replies[0][0] != self.seq:
            raise AssertionError(f"expected one reply to seq {self.seq}, got {replies}")
        self.uart.frames.remove(replies[0])
        return replies[0][1], replies[0][2]

    def event_codes(self) -> list[tuple[int, int]]:
        return [(code, door) for code, door, _ in self.events if code not in (P.EV_BOOT, P.EV_BEAM)]
