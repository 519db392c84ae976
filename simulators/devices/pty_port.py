"""A pseudo-terminal pair standing in for a serial cable: the simulator owns the master side,
the driver opens the slave's path with pyserial.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import termios
import threading
import tty


class PtyPort:
    """The device end of a pty pair, with the small UART-like surface the simulators need.

    ``port_name`` is the path a driver opens. Both ends are raw (no echo, no line discipline).
    """

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port_name = os.ttyname(self._slave)
        self._closed = False
        self._lock = threading.Lock()

    def fileno(self) -> int:
        return self._master

    def any(self) -> int:
        """Bytes waiting to be read (like ``machine.UART.any``)."""
        if self._closed:
            return 0
        buf = fcntl.ioctl(self._master, termios.FIONREAD, struct.pack("I", 0))
        return int(struct.unpack("I", buf)[0])

    def wait_readable(self, timeout_s: float) -> bool:
        if self._closed:
            return False
        ready, _, _ = select.select([self._master], [], [], timeout_s)
        return bool(ready)

    def read(self, n: int) -> bytes:
        try:
            return os.read(self._master, n)
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):  # the other end went away
                return b""
            raise

    def write(self, data: bytes, timeout_s: float = 2.0) -> int:
        """Write everything, waiting (at most ``timeout_s`` per chunk) while the driver reads."""
        view = memoryview(bytes(data))
        with self._lock:
            while view:
                _, ready, _ = select.select([], [self._master], [], timeout_s)
                if not ready:
                    raise TimeoutError(f"{self.port_name}: the reader is not draining the pty")
                written = os.write(self._master, view[:1024])
                view = view[written:]
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
