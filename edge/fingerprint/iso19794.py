"""ISO/IEC 19794-2:2005 finger minutiae records ("FMR\\0", version " 20"), written and read.

Layout (big-endian): a 24-byte record header (format id, version, record length, capture
equipment, image size, resolution in pixels per centimetre, number of finger views), then per
view a 4-byte header (finger position, view number and impression type, finger quality, number
of minutiae), 6 bytes per minutia (2-bit type + 14-bit x, 2 reserved bits + 14-bit y, angle in
units of 360/256 degrees counter-clockwise from +x, quality 0..100) and a 2-byte extended-data
length. Extended data (ridge counts, cores, deltas) of imported records is skipped.

Angles follow ANSI/NIST and ISO: a ridge ending points into its ridge, a bifurcation into the
valley between its branches, which is also :mod:`edge.fingerprint.template`'s convention, so only
the rotation sense (ISO counter-clockwise with y up, ours with y down) is converted.
"""

from __future__ import annotations

import struct

import numpy as np

from .errors import TemplateFormatError
from .template import BIFURCATION, ENDING, Template

FORMAT_ID = b"FMR\x00"
VERSION_2005 = b" 20\x00"
_HEADER = struct.Struct(">4s4sIHHHHHBB")
_VIEW = struct.Struct(">BBBB")
_MINUTIA = struct.Struct(">HHBB")
_TYPE_CODES = {ENDING: 0b01, BIFURCATION: 0b10}
_ANGLE_UNIT = 2 * np.pi / 256
PPCM_PER_PPI = 1 / 2.54


def to_iso(template: Template, *, finger_position: int = 0, impression_type: int = 0) -> bytes:
    """One-view ISO/IEC 19794-2:2005 record of *template* (at most 255 minutiae, best first)."""
    t = template.strongest(255)
    n = len(t)
    length = _HEADER.size + _VIEW.size + n * _MINUTIA.size + 2
    ppcm = round(t.resolution_ppi * PPCM_PER_PPI)
    out = bytearray(_HEADER.pack(FORMAT_ID, VERSION_2005, length, 0, t.width, t.height, ppcm, ppcm, 1, 0))
    out += _VIEW.pack(finger_position, impression_type & 0x0F, int(np.clip(t.image_quality, 0, 100)), n)
    x = np.clip(np.round(t.xy[:, 0]), 0, 0x3FFF).astype(np.int64)
    y = np.clip(np.round(t.xy[:, 1]), 0, 0x3FFF).astype(np.int64)
    ang = np.round(np.mod(-t.angle.astype(np.float64), 2 * np.pi) / _ANGLE_UNIT).astype(np.int64) % 256
    for i in range(n):
        code = _TYPE_CODES.get(int(t.kind[i]), 0)
        out += _MINUTIA.pack((code << 14) | int(x[i]), int(y[i]), int(ang[i]), int(min(t.quality[i], 100)))
    out += b"\x00\x00"
    return bytes(out)


def from_iso(data: bytes, *, view: int = 0) -> Template:
    """The *view*-th finger view of an ISO/IEC 19794-2:2005 record as a template."""
    if len(data) < _HEADER.size:
        raise TemplateFormatError(f"ISO 19794-2 record: {len(data)} bytes is shorter than its header")
    fmt, version, length, _equip, width, height, xres, _yres, views, _ = _HEADER.unpack_from(data)
    if fmt != FORMAT_ID:
        raise TemplateFormatError(f"ISO 19794-2 record: format id {fmt!r}, expected {FORMAT_ID!r}")
    if version != VERSION_2005:
        raise TemplateFormatError(f"ISO 19794-2 record: version {version!r} unsupported (only 2005)")
    if length != len(data):
        raise TemplateFormatError(f"ISO 19794-2 record: header says {length} bytes, got {len(data)}")
    if not 0 <= view < views:
        raise TemplateFormatError(f"ISO 19794-2 record: view {view} asked, record has {views}")
    pos = _HEADER.size
    for index in range(views):
        if pos + _VIEW.size > len(data):
            raise TemplateFormatError(f"ISO 19794-2 record: view {index} header truncated")
        _finger, _view_impr, quality, n = _VIEW.unpack_from(data, pos)
        pos += _VIEW.size
        end = pos + n * _MINUTIA.size
        if end + 2 > len(data):
            raise TemplateFormatError(f"ISO 19794-2 record: view {index} minutiae truncated")
        raw = np.frombuffer(data[pos:end], dtype=">u2").reshape(n, 3) if n else np.zeros((0, 3), ">u2")
        (ext_len,) = struct.unpack_from(">H", data, end)
        next_pos = end + 2 + ext_len
        if next_pos > len(data):
            raise TemplateFormatError(f"ISO 19794-2 record: view {index} extended data truncated")
        if index == view:
            words = raw.astype(np.int64)
            codes = words[:, 0] >> 14
            xy = np.stack([words[:, 0] & 0x3FFF, words[:, 1] & 0x3FFF], 1)
            ang_q = words[:, 2]  # angle byte then quality byte
            angle = np.mod(-(ang_q >> 8).astype(np.float64) * _ANGLE_UNIT, 2 * np.pi)
            kind = np.where(codes == 0b10, BIFURCATION, ENDING)  # "other" (00) reads as an ending
            return Template.from_arrays(
                xy, angle, kind, np.clip(ang_q & 0xFF, 0, 100),
                width=width, height=height, resolution_ppi=round(xres / PPCM_PER_PPI),
                image_quality=quality,
            )
        pos = next_pos
    raise TemplateFormatError("ISO 19794-2 record: view not found")  # unreachable: views checked
