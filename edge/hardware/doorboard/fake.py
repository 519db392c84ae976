"""``FakeSerialPort``: an in-memory pyserial stand-in for driver tests without a pty.

What the driver writes is decoded into ``frames``; a ``responder`` (by default a board that ACKs
everything with "both doors closed") may answer each frame, and ``feed`` injects raw bytes, such
as recorded or deliberately corrupted frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from edge.hardware.doorboard.codec import Decoder, encode, wire

Frame = tuple[int, int | None, bytes]
Responder = Callable[[int, int | None, bytes], bytes | None]

CLOSED_STATUS = bytes([wire.POS_CLOSED, wire.POS_CLOSED, 0])


def ack_everything(seq: int, cmd: int | None, payload: bytes) -> bytes | None:
    """A board that ACKs every command with both doors closed, and ignores ACKs to its events."""
    if cmd in (wire.ACK, wire.NAK, None):
        return None
    return encode(seq, wire.ACK, CLOSED_STATUS)


class FakeSerialPort:
    def __init__(self, responder: Responder | None = ack_everything, name: str = "fake0") -> None:
        self.port = name
        self.timeout = 0.05
        self.responder = responder
        self.frames: list[Frame] = []
        self._rx = bytearray()
        self._decoder = Decoder()
        self._cond = threading.Condition()
        self.closed = False

    @property
    def in_waiting(self) -> int:
        with self._cond:
            return len(self._rx)

    def read(self, size: int = 1) -> bytes:
        with self._cond:
            self._cond.wait_for(lambda: self._rx or self.closed, timeout=self.timeout)
            out = bytes(self._rx[:size])
            del self._rx[:size]
            return out

    def write(self, data: bytes) -> int:
        replies = []
        with self._cond:
            for frame in self._decoder.feed(data):
                self.frames.append(frame)
                if self.responder is not None:
                    replies.append(self.responder(*frame))
            self._cond.notify_all()
        for reply in replies:
            if reply:
                self.feed(reply)
        return len(data)

    def feed(self, data: bytes) -> None:
        """Bytes 'from the board'."""
        with self._cond:
            self._rx += data
            self._cond.notify_all()

    def wait_for_frame(self, predicate: Callable[[Frame], bool], timeout_s: float = 5.0) -> Frame:
        def find() -> Frame | None:
            return next((f for f in self.frames if predicate(f)), None)

        with self._cond:
            found = self._cond.wait_for(find, timeout=timeout_s)
        if found is None:
            raise TimeoutError(f"{self.port}: no matching frame written within {timeout_s} s")
        return found

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
