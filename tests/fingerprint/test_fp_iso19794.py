import struct

import numpy as np
import pytest

from edge.fingerprint.errors import TemplateFormatError
from edge.fingerprint.iso19794 import from_iso, to_iso
from edge.fingerprint.template import BIFURCATION, ENDING, Template


def _template(n: int = 40, seed: int = 0) -> Template:
    rng = np.random.default_rng(seed)
    return Template.from_arrays(
        rng.integers(0, 380, (n, 2)), rng.uniform(0, 2 * np.pi, n), rng.integers(0, 2, n),
        rng.integers(1, 101, n), width=388, height=374, image_quality=81,
    )


def test_round_trip_keeps_every_minutia():
    """Without this, enrolments exported to other systems would come back changed."""
    t = _template()
    back = from_iso(to_iso(t))
    assert (back.width, back.height, back.resolution_ppi, back.image_quality) == (388, 374, 500, 81)
    order = np.lexsort((t.xy[:, 1], t.xy[:, 0]))
    border = np.lexsort((back.xy[:, 1], back.xy[:, 0]))
    np.testing.assert_array_equal(back.xy[border], t.xy[order])
    np.testing.assert_array_equal(back.kind[border], t.kind[order])
    np.testing.assert_array_equal(back.quality[border], t.quality[order])
    # one ISO angle step is 360/256 degrees
    err = np.angle(np.exp(1j * (back.angle[border] - t.angle[order])))
    assert np.abs(err).max() <= np.pi / 256 + 1e-6
    assert to_iso(back) == to_iso(from_iso(to_iso(back)))


def test_layout_matches_the_standard():
    """Byte layout of a known record: header, view header, one 6-byte minutia, no extension."""
    t = Template.from_arrays([[100, 200]], [np.pi / 2], [BIFURCATION], [60], width=300, height=400,
                             image_quality=70)
    rec = to_iso(t, finger_position=2)
    assert rec[:8] == b"FMR\x00 20\x00"
    assert struct.unpack(">I", rec[8:12])[0] == len(rec) == 24 + 4 + 6 + 2
    assert struct.unpack(">HHHH", rec[14:22]) == (300, 400, 197, 197)  # 500 ppi = 197 px/cm
    assert rec[22] == 1
    assert tuple(rec[24:28]) == (2, 0, 70, 1)
    word_x, word_y, angle, quality = struct.unpack(">HHBB", rec[28:34])
    assert word_x >> 14 == 0b10 and word_x & 0x3FFF == 100 and word_y == 200
    # pi/2 clockwise on screen (y down) is 270 degrees counter-clockwise: 192 of 256 steps
    assert angle == 192 and quality == 60
    assert rec[34:] == b"\x00\x00"


def test_reads_second_view_and_skips_extended_data():
    a = to_iso(_template(5, 1))
    b = to_iso(_template(7, 2))
    # a two-view record: the first view carries 3 bytes of extended data
    view_a = a[24:-2] + struct.pack(">H", 3) + b"xyz"
    view_b = b[24:]
    body = view_a + view_b
    header = bytearray(a[:24])
    header[8:12] = struct.pack(">I", 24 + len(body))
    header[22] = 2
    rec = bytes(header) + body
    assert len(from_iso(rec, view=0)) == 5
    assert len(from_iso(rec, view=1)) == 7


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: b"XYZ\x00" + r[4:], "format id"),
        (lambda r: r[:4] + b" 30\x00" + r[8:], "version"),
        (lambda r: r[:-1], "header says"),
        (lambda r: r[:30], "header says"),
        (lambda r: r[:5], "shorter than its header"),
    ],
)
def test_malformed_records_are_refused(mutate, message):
    with pytest.raises(TemplateFormatError, match=message):
        from_iso(mutate(to_iso(_template(3))))


def test_at_most_255_minutiae_best_first():
    t = _template(300)
    back = from_iso(to_iso(t))
    assert len(back) == 255
    assert back.quality.min() >= np.sort(t.quality)[-255]
    assert set(np.unique(back.kind)) <= {ENDING, BIFURCATION}
