"""The serial passport reader's line protocol (pure).

Reader to host, when a document is laid on the glass (or on ``READ``)::

    DOC <n>\\r\\n                      n = number of MRZ lines (2 or 3)
    MRZ <line>\\r\\n                   n times; characters A-Z 0-9 <, 30, 36 or 44 long
    IMG <format> <size> <crc32>\\r\\n  format jpeg|png|gray8; size in bytes; crc32 as 8 hex digits
    <size raw bytes>\\r\\n
    END\\r\\n

and ``REMOVED`` when it is taken away, ``OK <text>`` / ``ERR <code>`` in answer to commands.
Host to reader: ``STATUS``, ``READ`` (send the current document again), each ending ``\\r\\n``.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from edge.hardware.passport_reader.errors import RecordCorrupt

MRZ_LENGTHS = {2: {36, 44}, 3: {30}}  # TD2/TD3/MRV: 2 lines of 36 or 44; TD1: 3 lines of 30
MRZ_CHARS = re.compile(r"^[A-Z0-9<]+$")
IMAGE_FORMATS = ("jpeg", "png", "gray8")
MAX_IMAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class DocumentRead:
    """One document as the reader saw it: the MRZ lines and the page image, unparsed."""

    mrz_lines: tuple[str, ...]
    image: bytes
    image_format: str

    def __repr__(self) -> str:  # never put a full MRZ into logs or tracebacks
        return f"DocumentRead({len(self.mrz_lines)} MRZ lines, {self.image_format} image of {len(self.image)} bytes)"


@dataclass(frozen=True)
class DocumentRemoved:
    pass


@dataclass(frozen=True)
class Reply:
    ok: bool
    text: str


@dataclass(frozen=True)
class Corrupt:
    """A record that failed to parse; the decoder has resynchronised after it."""

    reason: str


Message = DocumentRead | DocumentRemoved | Reply | Corrupt


def encode_document(doc: DocumentRead) -> bytes:
    check_mrz(doc.mrz_lines)
    lines = [f"DOC {len(doc.mrz_lines)}"] + [f"MRZ {line}" for line in doc.mrz_lines]
    crc = zlib.crc32(doc.image) & 0xFFFFFFFF
    lines.append(f"IMG {doc.image_format} {len(doc.image)} {crc:08x}")
    head = "".join(line + "\r\n" for line in lines).encode("ascii")
    return head + doc.image + b"\r\nEND\r\n"


def check_mrz(lines: tuple[str, ...]) -> None:
    """Raise ``RecordCorrupt`` unless ``lines`` have a valid MRZ shape (not its check digits)."""
    lengths = {len(line) for line in lines}
    if len(lines) not in MRZ_LENGTHS or len(lengths) != 1 or not lengths <= MRZ_LENGTHS[len(lines)]:
        raise RecordCorrupt(f"MRZ shape {len(lines)} x {sorted(lengths)} is not an ICAO 9303 format")
    if not all(MRZ_CHARS.match(line) for line in lines):
        raise RecordCorrupt("MRZ holds characters outside A-Z 0-9 <")


class ReaderDecoder:
    """Turns the reader's byte stream into messages; a bad record becomes a ``Corrupt`` message
    and decoding resumes on the next line."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._lines: list[str] | None = None
        self._expected = 0
        self._image_header: tuple[str, int, int] | None = None
        self._image: tuple[bytes, str] | None = None

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        while True:
            if self._image_header is not None:
                fmt, size, crc = self._image_header
                if len(self._buf) < size + 2:
                    return out
                image, rest = bytes(self._buf[:size]), self._buf[size:]
                self._buf = bytearray(rest[2:] if rest[:2] == b"\r\n" else rest)
                self._image_header = None
                if zlib.crc32(image) & 0xFFFFFFFF != crc:
                    self._reset()
                    out.append(Corrupt(f"page image CRC mismatch ({size} bytes)"))
                    continue
                self._image = (image, fmt)
                continue
            end = self._buf.find(b"\r\n")
            if end < 0:
                if len(self._buf) > 4096 and self._image_header is None:
                    self._buf.clear()  # no line is this long: noise
                return out
            line = self._buf[:end].decode("ascii", errors="replace")
            del self._buf[: end + 2]
            try:
                message = self._line(line)
            except RecordCorrupt as exc:
                self._reset()
                message = Corrupt(str(exc))
            if message is not None:
                out.append(message)

    def _reset(self) -> None:
        self._image = None
        self._lines = None
        self._expected = 0
        self._image_header = None

    def _line(self, line: str) -> Message | None:
        word, _, rest = line.partition(" ")
        if word == "DOC":
            if not rest.isdigit() or int(rest) not in MRZ_LENGTHS:
                raise RecordCorrupt(f"bad DOC line: {len(rest)} chars")
            self._lines, self._expected = [], int(rest)
            self._image = None
            return None
        if word == "MRZ" and self._lines is not None:
            self._lines.append(rest)
            return None
        if word == "IMG" and self._lines is not None:
            parts = rest.split(" ")
            if len(parts) != 3 or parts[0] not in IMAGE_FORMATS or not parts[1].isdigit():
                self._reset()
                raise RecordCorrupt("bad IMG header")
            size = int(parts[1])
            if size > MAX_IMAGE_BYTES:
                self._reset()
                raise RecordCorrupt(f"page image of {size} bytes is too large")
            try:
                crc = int(parts[2], 16)
            except ValueError as exc:
                self._reset()
                raise RecordCorrupt("bad IMG checksum") from exc
            self._image_header = (parts[0], size, crc)
            return None
        if word == "END" and self._lines is not None:
            lines, expected, image = tuple(self._lines), self._expected, self._image
            self._reset()
            if len(lines) != expected or image is None:
                state = "present" if image else "missing"
                raise RecordCorrupt(f"incomplete record: {len(lines)} of {expected} MRZ lines, image {state}")
            check_mrz(lines)
            return DocumentRead(lines, image[0], image[1])
        if word == "REMOVED":
            return DocumentRemoved()
        if word in ("OK", "ERR"):
            return Reply(word == "OK", rest)
        return None  # unknown lines are ignored (firmware banners, blank lines)
