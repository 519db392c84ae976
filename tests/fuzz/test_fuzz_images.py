"""Fuzzing image loading: the photo decoders central uses for watchlist and CCTV enrolment and
for the back office's captures, and the file reader of ``autogate face``. Corrupt, truncated or
mutated JPEG and PNG files must be refused with the module's own error, never crash the caller.

It also covers the gate's own loader (``edge.imageload``), which refuses an image by its
header before decoding it. Images whose header claims a huge size were issue 18 item 8.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from fuzz_support import fuzz
from hypothesis import given
from hypothesis import strategies as st

from central.cases.biometrics import CaseRefused, _decode
from central.cctv.faces import PhotoRejected, decode_photo
from edge.face.cli import read_image
from edge.face.errors import BadImage
from edge.imageload import FACE_LIMITS, FingerprintImageLimits, ImageRefused, decode_image


def _encoded(ext: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    ok, data = cv2.imencode(ext, rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    assert ok
    return data.tobytes()


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for at, value in edits:
        buf[at % len(buf)] = value
    return bytes(buf[:cut] if cut else buf)


def _png_claiming(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming *width* x *height*, with almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(  # noqa: E731
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


images = st.builds(
    _mutate,
    st.builds(_encoded, st.sampled_from([".png", ".jpg", ".bmp"]), st.integers(0, 3)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.none() | st.integers(1, 400),
) | st.binary(max_size=300)


@fuzz(80)
@given(images)
def test_central_photo_decoders_refuse_corrupt_images_cleanly(data: bytes) -> None:
    for decode, refused in ((decode_photo, PhotoRejected),
                            (lambda d: _decode(d, "face", grey=False), CaseRefused),
                            (lambda d: _decode(d, "finger", grey=True), CaseRefused)):
        try:
            image = decode(data)
        except refused:
            continue
        assert image.size > 0


@fuzz(40)
@given(images)
def test_face_cli_reader_refuses_corrupt_files_cleanly(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("img") / "photo.png"
    path.write_bytes(data)
    try:
        read_image(str(path))
    except BadImage:
        pass


def test_a_png_claiming_a_huge_size_is_refused_cleanly() -> None:
    """Issue 18 item 8 (fixed by ingestsafe): cv2 raised cv2.error for it."""
    with pytest.raises(PhotoRejected):
        decode_photo(_png_claiming(60_000, 60_000))
    with pytest.raises(ImageRefused):
        decode_image(_png_claiming(60_000, 60_000), limits=FACE_LIMITS)


@fuzz(80)
@given(images, st.integers(1, 70_000), st.integers(1, 70_000))
def test_the_gates_image_loader_refuses_by_header_or_decodes(data: bytes, width: int, height: int) -> None:
    """edge.imageload: corrupt files and headers claiming any size are ImageRefused, never cv2.error."""
    for candidate in (data, _png_claiming(width, height)):
        for limits in (FACE_LIMITS, FingerprintImageLimits()):
            try:
                image = decode_image(candidate, limits=limits)
            except ImageRefused:
                continue
            assert image.size > 0
