"""A passport reader on a pty: lay a document on the glass and it sends the record, like the
real reader in automatic mode; answers STATUS and READ.

    with PassportReaderSimulator() as sim:
        reader = PassportReader.open(sim.port_name)
        sim.present(("P<UTO...", "L898902C3..."), jpeg_bytes)
"""

from __future__ import annotations

import logging
import threading

from edge.hardware.passport_reader.codec import DocumentRead, encode_document
from simulators.devices.pty_port import PtyPort

log = logging.getLogger(__name__)


class PassportReaderSimulator:
    def __init__(self) -> None:
        self.pty = PtyPort()
        self.stopping = threading.Event()
        self._document: DocumentRead | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="passport-reader-sim", daemon=True)
        self.corrupt_next = False  # flip one image byte in the next record sent

    @property
    def port_name(self) -> str:
        return self.pty.port_name

    def start(self) -> PassportReaderSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self.pty.close()

    def __enter__(self) -> PassportReaderSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def present(self, mrz_lines: tuple[str, ...], image: bytes, image_format: str = "jpeg") -> None:
        """A traveller lays a document on the glass."""
        with self._lock:
            self._document = DocumentRead(tuple(mrz_lines), image, image_format)
            self._send_document()

    def remove(self) -> None:
        with self._lock:
            self._document = None
            self.pty.write(b"REMOVED\r\n")

    def _send_document(self) -> None:
        assert self._document is not None
        record = encode_document(self._document)
        if self.corrupt_next:
            self.corrupt_next = False
            at = record.index(b"\r\nEND") - 1  # last image byte
            record = record[:at] + bytes([record[at] ^ 0xFF]) + record[at + 1 :]
        self.pty.write(record)

    def _serve(self) -> None:
        buf = b""
        while not self.stopping.is_set():
            if not self.pty.wait_readable(0.05):
                continue
            data = self.pty.read(256)
            if not data:
                continue
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                self._answer(line.decode("ascii", errors="replace").strip())

    def _answer(self, command: str) -> None:
        with self._lock:
            if command == "STATUS":
                self.pty.write(b"OK READY\r\n" if self._document is None else b"OK DOCUMENT\r\n")
            elif command == "READ":
                if self._document is None:
                    self.pty.write(b"ERR NO_DOCUMENT\r\n")
                else:
                    self.pty.write(b"OK\r\n")
                    self._send_document()
            else:
                self.pty.write(b"ERR UNKNOWN_COMMAND\r\n")
