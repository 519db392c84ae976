"""Fuzzing what the gate reads from its devices: the MRZ parser, the door board's frames (both
the board's firmware decoder and the edge's codec), the passport reader's and the fingerprint
sensor's byte streams. Noise on a serial line or a strange document must come back as a clear
error or a "corrupt" record, never as an exception that stops the gate's reader thread.
"""

from __future__ import annotations

from datetime import date

from fuzz_support import fuzz
from hypothesis import example, given
from hypothesis import strategies as st

from edge.hardware.doorboard import codec as board_codec
from edge.hardware.fingerprint_sensor import codec as finger_codec
from edge.hardware.passport_reader.codec import ReaderDecoder
from edge.mrz.checks import check_document
from edge.mrz.errors import MrzError
from edge.mrz.parse import parse_mrz
from edge.settings import DocumentPolicy
from firmware import protocol as P
from simulators.devices.firmware_rig import FirmwareRig

MRZ_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
TODAY = date(2026, 12, 8)
TD3 = ("P<IDNRAHAYU<<SITI<<<<<<<<<<<<<<<<<<<<<<<<<<<",
       "X1234567<0IDN9005177F3001014<<<<<<<<<<<<<<02")

mrz_line = st.text(alphabet=MRZ_CHARS, min_size=28, max_size=46)
mrz_text = st.one_of(
    st.lists(mrz_line, min_size=1, max_size=4).map("\n".join),
    st.text(max_size=200),
    st.lists(st.text(alphabet=MRZ_CHARS, min_size=44, max_size=44), min_size=2, max_size=2).map("\n".join),
    st.lists(st.text(alphabet=MRZ_CHARS, min_size=30, max_size=30), min_size=3, max_size=3).map("\n".join),
    st.lists(st.text(alphabet=MRZ_CHARS, min_size=36, max_size=36), min_size=2, max_size=2).map("\n".join),
)


@fuzz(150)
@given(mrz_text)
@example("\n".join(TD3))
@example("\x00" * 88)
@example("P<" + "<" * 86)
def test_mrz_parser_answers_an_mrz_or_a_format_error(text: str) -> None:
    try:
        mrz = parse_mrz(text, today=TODAY)
    except MrzError:
        return
    # a parsed MRZ can always be checked against the policy (dates, expiry, nationality)
    check_document(mrz, today=TODAY, policy=DocumentPolicy())


@fuzz(100)
@given(st.integers(0, 43), st.text(alphabet=MRZ_CHARS, min_size=1, max_size=1), st.integers(0, 1))
def test_a_changed_character_in_a_valid_mrz_parses_or_is_refused(at: int, char: str, line: int) -> None:
    lines = list(TD3)
    lines[line] = lines[line][:at] + char + lines[line][at + 1:]
    try:
        mrz = parse_mrz(lines, today=TODAY)
    except MrzError:
        return
    check_document(mrz, today=TODAY, policy=DocumentPolicy())


@fuzz(150)
@given(st.lists(st.binary(max_size=64), max_size=8))
@example([bytes([P.STX, 255]) + b"\x00" * 300])
def test_firmware_decoder_survives_any_stream(chunks: list[bytes]) -> None:
    decoder = P.Decoder()
    for chunk in chunks:
        for seq, cmd, payload in decoder.feed(chunk):
            assert 0 <= seq <= 255 and (cmd is None or 0 <= cmd <= 255)
            assert len(payload) <= P.MAX_LEN
    assert len(decoder._buf) <= P.MAX_LEN + 4  # noqa: SLF001 - a stream of noise must not grow the buffer


@fuzz(60)
@given(st.lists(st.one_of(
    st.binary(max_size=32),
    st.builds(lambda seq, cmd, payload: P.encode(seq, cmd, payload),
              st.integers(0, 255), st.integers(0, 255), st.binary(max_size=8)),
), max_size=12))
def test_door_board_never_opens_both_doors_whatever_the_edge_sends(frames: list[bytes]) -> None:
    """The firmware under any byte stream: it answers, never raises, and keeps its interlock."""
    rig = FirmwareRig()
    rig.run(20)
    for data in frames:
        rig.board.receive(data, rig.now)
        rig.run(200)
        assert not (rig.plant.position("entry") > 0 and rig.plant.position("exit") > 0)


@fuzz(100)
@given(st.binary(max_size=8))
def test_door_board_codec_helpers_refuse_cleanly(payload: bytes) -> None:
    try:
        board_codec.parse_status(payload)
    except ValueError:
        pass
    assert isinstance(board_codec.nak_reason(payload), str)
    assert isinstance(board_codec.command_name(payload[0] if payload else 0), str)


@fuzz(150)
@given(st.lists(st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"DOC 2\r\n", b"DOC 3\r\n", b"DOC 9\r\n", b"DOC x\r\n", b"MRZ " + TD3[0].encode() + b"\r\n",
                     b"MRZ " + TD3[1].encode() + b"\r\n", b"IMG jpeg 4 0\r\n", b"IMG png 99999999 1\r\n",
                     b"END\r\n", b"REMOVED\r\n", b"\r\n"]),
), max_size=12))
def test_passport_reader_decoder_survives_any_stream(chunks: list[bytes]) -> None:
    decoder = ReaderDecoder()
    for chunk in chunks:
        decoder.feed(chunk)


@fuzz(150)
@given(st.lists(st.one_of(
    st.binary(max_size=40),
    st.builds(lambda pid, payload: finger_codec.encode_packet(pid, payload), st.integers(0, 255),
              st.binary(max_size=32)),
    st.binary(max_size=12).map(lambda tail: finger_codec.HEADER + tail),
), max_size=10))
def test_fingerprint_sensor_decoder_survives_any_stream(chunks: list[bytes]) -> None:
    decoder = finger_codec.PacketDecoder()
    for chunk in chunks:
        decoder.feed(chunk)


@fuzz(100)
@given(st.binary(max_size=40))
def test_fingerprint_sensor_blocks_refuse_cleanly(block: bytes) -> None:
    try:
        finger_codec.SystemParameters.parse(block)
    except ValueError:
        pass
    try:
        finger_codec.unpack_image(block)
    except ValueError:
        pass
