"""Images are refused by their header before decoding (issue 18, item 8).

Before the fix a 60,000 x 60,000 PNG (a few hundred bytes here: only its header is real) made
``autogate mrz read``, ``face embed`` and ``finger verify`` die of an uncaught cv2.error, a
20,000 x 20,000 one took minutes and gigabytes, and an existing file that is not an image was
reported as FileNotFoundError. The huge images are made here, tiny on disk.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from autogate import cli
from edge.imageload import (
    DOCUMENT_LIMITS,
    FACE_LIMITS,
    FINGERPRINT_LIMITS,
    ImageLimits,
    ImageRefused,
    decode_image,
    load_image,
    read_header,
)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def huge_png(width: int, height: int) -> bytes:
    """A PNG whose header claims *width* x *height* (8-bit grey) with one compressed row of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def small(fmt: str, width: int = 40, height: int = 30) -> bytes:
    image = np.full((height, width, 3), 200, np.uint8)
    ok, data = cv2.imencode(fmt, image)
    assert ok
    return data.tobytes()


def with_dims(fmt: str, width: int, height: int) -> bytes:
    """A small real image of *fmt* whose header is rewritten to claim *width* x *height*."""
    data = bytearray(small(fmt))
    if fmt == ".jpg":
        i = 2
        while data[i + 1] not in (0xC0, 0xC1, 0xC2):
            i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        data[i + 5:i + 9] = struct.pack(">HH", height, width)
    elif fmt == ".bmp":
        data[18:26] = struct.pack("<ii", width, height)
    elif fmt == ".tif":
        order = "<" if data[:2] == b"II" else ">"
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset:offset + 2])
        for n in range(count):
            at = offset + 2 + 12 * n
            tag, kind = struct.unpack(order + "HH", data[at:at + 4])
            if tag in (256, 257):
                value = width if tag == 256 else height
                data[at + 2:at + 8] = struct.pack(order + "HI", 4, 1)
                data[at + 8:at + 12] = struct.pack(order + "I", value)
    return bytes(data)


@pytest.mark.parametrize("fmt", [".png", ".jpg", ".bmp", ".tif", ".webp", ".ppm"])
def test_headers_give_the_real_dimensions(fmt: str) -> None:
    header = read_header(small(fmt, 41, 29))
    assert (header.width, header.height) == (41, 29)


@pytest.mark.parametrize("fmt", [".png", ".jpg", ".bmp", ".tif"])
def test_small_images_decode(fmt: str) -> None:
    assert decode_image(small(fmt), limits=FACE_LIMITS).shape == (30, 40, 3)
    assert decode_image(small(fmt), limits=FINGERPRINT_LIMITS, grey=True).shape == (30, 40)


@pytest.mark.parametrize(
    "data",
    [huge_png(60_000, 60_000), huge_png(20_000, 20_000), with_dims(".jpg", 60_000, 60_000),
     with_dims(".bmp", 60_000, 60_000), with_dims(".tif", 60_000, 60_000)],
    ids=["png-60k", "png-20k", "jpeg-60k", "bmp-60k", "tiff-60k"],
)
def test_huge_headers_are_refused_before_decoding(data: bytes) -> None:
    assert len(data) < 100_000
    with pytest.raises(ImageRefused) as refused:
        decode_image(data, limits=FACE_LIMITS)
    assert refused.value.reason == "too_large" and "exceeds the sensor's limit" in str(refused.value)


def test_each_modality_has_its_own_limit() -> None:
    photo = huge_png(3000, 3000)  # fine for a face camera or a passport page, not a 500 dpi sensor
    with pytest.raises(ImageRefused, match="too_large|exceeds"):
        decode_image(photo, limits=FINGERPRINT_LIMITS)
    for limits in (FACE_LIMITS, DOCUMENT_LIMITS):
        with pytest.raises(ImageRefused) as refused:  # passes the size check, then the data is short
            decode_image(photo, limits=limits)
        assert refused.value.reason == "corrupt"
    with pytest.raises(ImageRefused, match="bytes exceeds"):
        decode_image(small(".png"), limits=ImageLimits(max_file_bytes=1024).model_copy(update={"max_file_bytes": 10}))


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"hello, not an image", "not_an_image"), (b"", "not_an_image"), (small(".png")[:60], "corrupt"),
     (b"\xff\xd8\xff\xe0\x00\x01", "corrupt"), (b"BM" + b"\x00" * 10, "corrupt")],
)
def test_files_that_exist_are_never_called_missing(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(ImageRefused) as refused:
        load_image(path, limits=FACE_LIMITS)
    assert refused.value.reason == reason
    assert "FileNotFoundError" not in str(refused.value) and "no such file" not in str(refused.value)


def test_missing_files_and_folders(tmp_path: Path) -> None:
    with pytest.raises(ImageRefused) as refused:
        load_image(tmp_path / "nope.png", limits=FACE_LIMITS)
    assert refused.value.reason == "not_found"
    with pytest.raises(ImageRefused) as refused:
        load_image(tmp_path, limits=FACE_LIMITS)
    assert refused.value.reason == "unreadable"


@pytest.fixture
def huge_file(tmp_path: Path) -> str:
    path = tmp_path / "huge.png"
    path.write_bytes(huge_png(60_000, 60_000))
    return str(path)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_mrz_read_refuses_a_huge_image_and_reads_the_rest(huge_file: str, capsys) -> None:
    fixture = str(Path(__file__).parents[1] / "mrz" / "fixtures" / "td3.jpg")
    assert cli.main(["mrz", "read", "--json", huge_file, fixture]) == 1
    rows = _json_lines(capsys.readouterr().out)
    assert rows[0]["reason"] == "too_large" and "60000 x 60000" in rows[0]["error"]
    assert rows[1]["valid"] is True


def test_face_embed_refuses_a_huge_image(huge_file: str, tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    assert cli.main(["face", "embed", "--json", huge_file, str(text)]) == 1
    rows = _json_lines(capsys.readouterr().out)
    assert "too_large" in rows[0]["error"] and "not_an_image" in rows[1]["error"]


def test_finger_verify_and_template_refuse_a_huge_image(huge_file: str, tmp_path: Path, capsys) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(f"{huge_file} {huge_file}\n")
    assert cli.main(["finger", "verify", "--pairs", str(pairs), "--json"]) == 1
    [row] = _json_lines(capsys.readouterr().out)
    assert row["reason"] == "too_large"
    assert cli.main(["finger", "template", "--json", huge_file]) == 1
    [row] = _json_lines(capsys.readouterr().out)
    assert row["reason"] == "too_large"


def test_the_gate_refuses_a_huge_passport_page() -> None:
    from edge.gate.stations import presented_from_reader
    from edge.hardware.passport_reader.codec import DocumentRead

    lines = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
    presented = presented_from_reader(DocumentRead(lines, huge_png(60_000, 60_000), "png"))
    assert presented.image is None and presented.mrz_lines == lines


def test_central_refuses_a_huge_face_photo_upload() -> None:
    """The face watchlist's upload decoded first and counted pixels after (cv2.error on 60k)."""
    from central.cctv.errors import PhotoRejected
    from central.cctv.faces import decode_photo

    with pytest.raises(PhotoRejected, match="too large"):
        decode_photo(huge_png(60_000, 60_000))
    with pytest.raises(PhotoRejected, match="not an image"):
        decode_photo(b"GIF89a not supported")
    assert decode_photo(small(".jpg")).shape == (30, 40, 3)
