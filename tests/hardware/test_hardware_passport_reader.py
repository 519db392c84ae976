"""The serial passport reader: record codec, and the driver against the pty simulator."""

from __future__ import annotations

import pytest

from edge.hardware.passport_reader import DocumentRead, PassportReader
from edge.hardware.passport_reader.codec import Corrupt, DocumentRemoved, ReaderDecoder, Reply, encode_document
from edge.hardware.passport_reader.errors import PassportReaderError, ReaderTimeout, RecordCorrupt
from simulators.devices.passport_reader_sim import PassportReaderSimulator

# ICAO 9303 part 4 specimen (fictional)
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
IMAGE = bytes(range(256)) * 40 + b"\r\nEND\r\n"  # binary, and containing the terminator on purpose


def test_record_round_trip_byte_by_byte():
    record = encode_document(DocumentRead(TD3, IMAGE, "jpeg"))
    decoder = ReaderDecoder()
    out = []
    for i in range(len(record)):
        out += decoder.feed(record[i : i + 1])
    assert out == [DocumentRead(TD3, IMAGE, "jpeg")]


def test_other_messages():
    assert ReaderDecoder().feed(b"REMOVED\r\nOK READY\r\nERR NO_DOCUMENT\r\nbanner v1\r\n") == [
        DocumentRemoved(), Reply(True, "READY"), Reply(False, "NO_DOCUMENT")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r.replace(b"MRZ L898", b"MRZ l898"), "outside A-Z"),
        (lambda r: r.replace(b"DOC 2", b"DOC 3"), "incomplete record"),
        (lambda r: r[: r.index(b"\r\nEND") - 1] + b"\x00" + r[r.index(b"\r\nEND") :], "CRC mismatch"),
        (lambda r: r.replace(b"IMG jpeg", b"IMG tiff"), "bad IMG header"),
    ],
)
def test_corrupt_records_are_reported_and_the_next_one_still_decodes(mutate, reason):
    good = encode_document(DocumentRead(TD3, IMAGE, "jpeg"))
    out = ReaderDecoder().feed(mutate(good) + good)
    assert isinstance(out[0], Corrupt) and reason in out[0].reason
    assert out[-1] == DocumentRead(TD3, IMAGE, "jpeg")


def test_mrz_shape_is_checked_when_encoding():
    with pytest.raises(RecordCorrupt, match="not an ICAO 9303 format"):
        encode_document(DocumentRead(("ABC", "DEF"), b"", "jpeg"))


def test_repr_never_shows_the_mrz():
    """Full MRZ lines must never reach the logs."""
    assert "ERIKSSON" not in repr(DocumentRead(TD3, IMAGE, "jpeg"))


@pytest.fixture
def rig():
    with PassportReaderSimulator() as sim:
        reader = PassportReader.open(sim.port_name)
        try:
            yield reader, sim
        finally:
            reader.close()


def test_a_document_laid_on_the_glass_is_delivered(rig):
    reader, sim = rig
    seen = []
    reader.when_document = seen.append
    sim.present(TD3, IMAGE)
    doc = reader.wait_for_document(timeout_s=5)
    assert doc.mrz_lines == TD3 and doc.image == IMAGE
    assert seen == [doc]


def test_commands(rig):
    reader, sim = rig
    assert reader.status() == "READY"
    with pytest.raises(PassportReaderError, match="READ failed: NO_DOCUMENT"):
        reader.request_read()
    sim.present(TD3, IMAGE)
    reader.wait_for_document(timeout_s=5)
    reader.request_read()
    assert reader.wait_for_document(timeout_s=5).mrz_lines == TD3


def test_a_corrupted_record_is_requested_again(rig):
    reader, sim = rig
    sim.corrupt_next = True
    sim.present(TD3, IMAGE)
    assert reader.wait_for_document(timeout_s=5).image == IMAGE
    assert reader.corrupt_records == 1


def test_no_document_is_a_timeout(rig):
    reader, _ = rig
    with pytest.raises(ReaderTimeout) as info:
        reader.wait_for_document(timeout_s=0.01)
    assert isinstance(info.value, TimeoutError)
