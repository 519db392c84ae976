"""``PassportReader``: a document reader on a serial line delivering MRZ lines and the page image.

The driver only delivers what the reader saw; parsing the MRZ (edge.mrz) and deciding what to do
is the gate runtime's job. A reader thread turns the stream into ``DocumentRead``s, offered to
``when_document`` and to ``wait_for_document``. A corrupt record is counted and the reader is asked
to send it again (``READ``), once per record.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import serial

from edge.hardware.passport_reader.codec import Corrupt, DocumentRead, DocumentRemoved, ReaderDecoder, Reply
from edge.hardware.passport_reader.errors import PassportReaderError, ReaderTimeout

log = logging.getLogger(__name__)


class PassportReader:
    """A serial passport reader.

    :param port: an open pyserial ``Serial`` (or compatible); ``open(port_name)`` opens and owns one.
    :param command_timeout_s: how long ``status`` and ``request_read`` wait for an answer.
    """

    when_document: Callable[[DocumentRead], None] | None = None
    when_removed: Callable[[], None] | None = None

    def __init__(self, *, port: Any, command_timeout_s: float = 1.0, owns_port: bool = False) -> None:
        self._port = port
        self._name = str(getattr(port, "port", None) or "passport reader")
        self._owns_port = owns_port
        self._command_timeout_s = command_timeout_s
        self._decoder = ReaderDecoder()
        self._documents: queue.Queue[DocumentRead] = queue.Queue()
        self._replies: queue.Queue[Reply] = queue.Queue()
        self._command_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.corrupt_records = 0
        self.stopping = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._read_loop, name=f"passport-reader {self._name}", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, port_name: str, *, baudrate: int = 115200, **kwargs: Any) -> PassportReader:
        try:
            port = serial.serial_for_url(port_name, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, OSError) as exc:
            raise PassportReaderError(f"passport reader {port_name}: cannot open: {exc}") from exc
        return cls(port=port, owns_port=True, **kwargs)

    def wait_for_document(self, timeout_s: float = 5.0) -> DocumentRead:
        """The next document laid on the reader; ``ReaderTimeout`` if none within ``timeout_s``."""
        try:
            return self._documents.get(timeout=timeout_s)
        except queue.Empty:
            raise ReaderTimeout(f"passport reader {self._name}: no document within {timeout_s} s") from None

    def status(self) -> str:
        """The reader's status line (``OK <text>``); raises on ``ERR`` or silence."""
        return self._command("STATUS")

    def request_read(self) -> None:
        """Ask the reader to send the document on its glass again (it arrives as a document)."""
        self._command("READ")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        self._thread.join(timeout=2.0)
        if self._owns_port:
            self._port.close()

    def __enter__(self) -> PassportReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- internals

    def _command(self, word: str) -> str:
        with self._command_lock:
            while not self._replies.empty():  # drop answers nobody waited for
                self._replies.get_nowait()
            self._write(f"{word}\r\n".encode("ascii"))
            try:
                reply = self._replies.get(timeout=self._command_timeout_s)
            except queue.Empty:
                raise ReaderTimeout(f"passport reader {self._name}: no answer to {word}") from None
        if not reply.ok:
            raise PassportReaderError(f"passport reader {self._name}: {word} failed: {reply.text}")
        return reply.text

    def _write(self, data: bytes) -> None:
        try:
            with self._write_lock:
                self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise PassportReaderError(f"passport reader {self._name}: write failed: {exc}") from exc

    def _read_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                if not self.stopping.is_set():
                    log.warning("passport reader %s: read failed: %s", self._name, exc)
                    self.stopping.wait(0.2)
                continue
            if data:
                self._decode(data)

    def _decode(self, data: bytes) -> None:
        for message in self._decoder.feed(data):
            if isinstance(message, Corrupt):
                self.corrupt_records += 1
                log.warning("passport reader %s: %s; asking for it again", self._name, message.reason)
                try:
                    self._write(b"READ\r\n")
                except PassportReaderError:
                    log.warning("passport reader %s: could not ask for a resend", self._name)
            elif isinstance(message, DocumentRead):
                log.info("passport reader %s: %r", self._name, message)
                self._documents.put(message)
                if self.when_document is not None:
                    self.when_document(message)
            elif isinstance(message, DocumentRemoved):
                if self.when_removed is not None:
                    self.when_removed()
            else:
                self._replies.put(message)
