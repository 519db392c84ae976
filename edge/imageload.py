"""Loading an image from a file or bytes, refusing it by its header before it is decoded.

Every image entry point (``autogate mrz read``, ``face embed``, ``finger verify|template``, the
passport reader's page image at the gate, CCTV folders and enrolment photos) comes through
here. OpenCV alone decodes whatever the header claims: a 60,000 x 60,000 PNG of 437 KB makes
``cv2.imread`` raise an uncaught ``cv2.error``, and 20,000 x 20,000 takes 141 s and 11.8 GB in
``finger verify`` (issue 18). So :func:`read_header` parses the width and height from the
container's header (PNG, JPEG, BMP, TIFF, WebP, PNM; anything else is refused), and
:func:`decode_image` decodes only when they are within the modality's :class:`ImageLimits`:
the decode then needs at most ``max_pixels`` x 3 bytes, a fixed budget.

Refusals are :class:`ImageRefused` with a ``reason`` a caller can show: ``not_found``,
``unreadable`` (exists but cannot be read), ``not_an_image``, ``corrupt``, ``too_large``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model


class ImageRefused(ValueError):
    """The image was not loaded; ``reason`` says why in one word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _limit_fields(width_px: int, height_px: int, pixels: int, file_bytes: int) -> dict[str, Any]:
    return {
        "max_width_px": (int, Field(width_px, ge=16, le=65_535, description="widest image accepted")),
        "max_height_px": (int, Field(height_px, ge=16, le=65_535, description="tallest image accepted")),
        "max_pixels": (int, Field(pixels, ge=256, le=400_000_000,
                                  description="width x height accepted: bounds the decode's memory (x 3 bytes)")),
        "max_file_bytes": (int, Field(file_bytes, ge=1024, le=1024 * 1024 * 1024, description="largest file read")),
    }


class _Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# The largest image one sensor kind may hand us, one class per modality so that each shows its
# own defaults in the settings reference (docs/edge.md).
ImageLimits = create_model(  # a face camera or a phone photo: 40 MP pass, a 48 MP phone image not
    "ImageLimits", __base__=_Limits, **_limit_fields(8192, 8192, 40_000_000, 64 * 1024 * 1024))
DocumentImageLimits = create_model(  # a passport page at 600 dpi (TD3: about 2950 x 2080 px), with room
    "DocumentImageLimits", __base__=ImageLimits, **_limit_fields(6000, 6000, 24_000_000, 32 * 1024 * 1024))
FingerprintImageLimits = create_model(  # a 500 dpi sensor (FVC and NIST images: at most about 800 x 800)
    "FingerprintImageLimits", __base__=ImageLimits, **_limit_fields(2048, 2048, 4_000_000, 16 * 1024 * 1024))

FACE_LIMITS = ImageLimits()
DOCUMENT_LIMITS = DocumentImageLimits()
FINGERPRINT_LIMITS = FingerprintImageLimits()


class ImageSettings(BaseModel):
    """Per-modality image limits of one gate or camera node (``AUTOGATE_EDGE_IMAGES__FACE__...``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    face: ImageLimits = Field(default_factory=ImageLimits, description="face camera and enrolment photos")
    document: DocumentImageLimits = Field(default_factory=DocumentImageLimits, description="passport reader page images")
    fingerprint: FingerprintImageLimits = Field(default_factory=FingerprintImageLimits,
                                                description="fingerprint sensor images")


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int


def _png(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageRefused("corrupt", "PNG without an IHDR header")
    return struct.unpack(">II", data[16:24])


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageRefused("corrupt", f"JPEG marker expected at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        if length < 2:
            raise ImageRefused("corrupt", f"JPEG segment of length {length} at byte {i}")
        i += 2 + length
    raise ImageRefused("corrupt", "JPEG without a frame header (SOF)")


def _bmp(data: bytes) -> tuple[int, int]:
    if len(data) < 26:
        raise ImageRefused("corrupt", "BMP header truncated")
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # negative height: rows stored top-down


def _tiff(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset:offset + 2])
        found: dict[int, int] = {}
        for n in range(count):
            entry = data[offset + 2 + 12 * n:offset + 14 + 12 * n]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag in (256, 257):  # ImageWidth, ImageLength
                value = struct.unpack(order + ("H" if kind == 3 else "I"), entry[8:10] if kind == 3 else entry[8:12])[0]
                found[tag] = value
    except struct.error as exc:
        raise ImageRefused("corrupt", "TIFF directory truncated") from exc
    if 256 not in found or 257 not in found:
        raise ImageRefused("corrupt", "TIFF without width and length tags")
    return found[256], found[257]


def _webp(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    try:
        if chunk == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
    except (struct.error, ValueError) as exc:
        raise ImageRefused("corrupt", "WebP header truncated") from exc
    raise ImageRefused("corrupt", f"WebP chunk {chunk!r} not understood")


def _pnm(data: bytes) -> tuple[int, int]:
    fields: list[bytes] = []
    for line in data[:1024].split(b"\n"):
        fields += line.split(b"#", 1)[0].split()
        if len(fields) >= 3:
            break
    try:
        return int(fields[1]), int(fields[2])
    except (IndexError, ValueError) as exc:
        raise ImageRefused("corrupt", "PNM header without width and height") from exc


def read_header(data: bytes) -> ImageHeader:
    """The container format and dimensions, from the first bytes only; nothing is decoded."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        name, parse = "png", _png
    elif data.startswith(b"\xff\xd8"):
        name, parse = "jpeg", _jpeg
    elif data.startswith(b"BM"):
        name, parse = "bmp", _bmp
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        name, parse = "tiff", _tiff
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        name, parse = "webp", _webp
    elif data[:2] in (b"P5", b"P6") and data[2:3].isspace():
        name, parse = "pnm", _pnm
    else:
        raise ImageRefused("not_an_image", "not a PNG, JPEG, BMP, TIFF, WebP or PNM image")
    width, height = parse(data)
    if width < 1 or height < 1:
        raise ImageRefused("corrupt", f"{name.upper()} header says {width} x {height}")
    return ImageHeader(name, int(width), int(height))


def check_limits(header: ImageHeader, limits: ImageLimits) -> None:
    if (header.width > limits.max_width_px or header.height > limits.max_height_px
            or header.width * header.height > limits.max_pixels):
        raise ImageRefused(
            "too_large",
            f"{header.format.upper()} of {header.width} x {header.height} px exceeds the sensor's limit of "
            f"{limits.max_width_px} x {limits.max_height_px} px, {limits.max_pixels:,} pixels",
        )


def decode_image(data: bytes, *, limits: ImageLimits, grey: bool = False) -> np.ndarray:
    """BGR (or grey) uint8 pixels of *data*, refused by size before anything is decoded."""
    import cv2

    if len(data) > limits.max_file_bytes:
        raise ImageRefused("too_large", f"{len(data):,} bytes exceeds the limit of {limits.max_file_bytes:,}")
    header = read_header(data)
    check_limits(header, limits)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageRefused("corrupt", f"{header.format.upper()} does not decode: {str(exc).strip()[:160]}") from exc
    if image is None or image.size == 0:
        raise ImageRefused("corrupt", f"{header.format.upper()} of {header.width} x {header.height} px does not decode")
    if image.shape[0] * image.shape[1] > limits.max_pixels:  # a header that lied about itself
        raise ImageRefused("corrupt", f"{header.format.upper()} decoded larger than its header says")
    return image


def load_image(path: str | Path, *, limits: ImageLimits, grey: bool = False) -> np.ndarray:
    """:func:`decode_image` of a file; the file's size is checked before it is read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ImageRefused("unreadable", f"{path}: is a directory")
        if size > limits.max_file_bytes:
            raise ImageRefused("too_large", f"{path}: {size:,} bytes exceeds the limit of {limits.max_file_bytes:,}")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImageRefused("not_found", f"{path}: no such file") from exc
    except OSError as exc:
        raise ImageRefused("unreadable", f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    try:
        return decode_image(data, limits=limits, grey=grey)
    except ImageRefused as exc:
        raise ImageRefused(exc.reason, f"{path}: {exc}") from exc
