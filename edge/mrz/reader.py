"""Read the MRZ of a passport, ID card or visa from an image: ``read(image) -> MrzReading``.

locate (edge.mrz.locate) → cut each text line of a block into a strip and recognise it with the
ONNX line model ``mrz-ocrb`` (CTC, loaded through edge.modelstore, checksum verified) → one
probability row per character (edge.mrz.ctc) → decode with the layout and check digits
(edge.mrz.decode). Blocks are tried most promising first, upright and upside down, and the image
turned by 90, then by 45 and 135 degrees while nothing valid is found; the first valid reading
wins. After each turn's blocks, a few whose lines were read short are read again over a whole
line's length (``_completions``). With nothing valid, the best refused reading's block is read
once more from several cuts at once (``MrzReader._reread``), and a refused reading is returned,
one whose check digits all pass before the likeliest (``_rank``); never an exception for an
unreadable image: ``lines`` is then None.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from edge.mrz.ctc import MAX_FORCED, best_path, character_rows
from edge.mrz.decode import Decoded, decode, formats_for
from edge.mrz.locate import (
    STRIP_FRAME_STRIDE, STRIP_MARGIN_CELLS, TURNS, MrzBlock, StripSpan, cut_strips, find_blocks, flipped, respanned, strip_span,
)
from edge.mrz.model import Mrz

log = logging.getLogger(__name__)

MODEL_NAME = "mrz-ocrb"
MAX_BLOCKS = 6
# (shift in cells, band height factor) of the cuts ``_reread`` averages; the plain cut first
REREAD_CUTS = ((0.0, 1.0), (-1 / 3, 1.0), (1 / 3, 1.0), (0.0, 0.9), (0.0, 1.12))

MAX_COMPLETED = 3  # blocks per image read again beyond the ends of lines read short (``_completions``)

Attempt = tuple[Decoded, MrzBlock]  # a decoding, and the block as cut for it


class MrzReading(BaseModel):
    """What the reader saw. ``valid`` only when every check digit passed and nothing was guessed."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    lines: tuple[str, ...] | None
    mrz: Mrz | None
    valid: bool
    confidence: float
    failed_checks: tuple[str, ...] = ()

    @property
    def format(self) -> str | None:
        return self.mrz.format if self.mrz else None

    def __repr__(self) -> str:
        return f"MrzReading(format={self.format!r}, valid={self.valid}, confidence={self.confidence:.3f})"

    __str__ = __repr__


class MrzReader:
    """The MRZ OCR engine. *session* is an onnxruntime session (default: ``mrz-ocrb`` from models/)."""

    def __init__(self, *, session: Any | None = None) -> None:
        if session is None:
            from edge.modelstore import onnx_session

            session = onnx_session(MODEL_NAME)
        self._session = session
        self._input = session.get_inputs()[0].name

    def recognise(self, strips: np.ndarray) -> np.ndarray:
        """[lines, frames, 38] probabilities (37 characters, then blank) for [lines, 1, H, W] strips."""
        return self._session.run(None, {self._input: strips})[0]

    def _read_block(self, block: MrzBlock, today: date | None, partials: list[Partial]) -> Attempt | None:
        """The block's first valid decoding, else its best refused one; a block whose lines were
        read too short for an MRZ line is added to *partials*."""
        n_lines = len(block.lines)
        guesses = (30,) if n_lines == 3 else _likely_widths(block)
        cut_for = guesses[0]
        frames = self.recognise(cut_strips(block, cut_for))
        # The strip is cut for the likelier length; what the model read settles it (a two-line
        # block is 44 or 36 characters a line). Cut for 36, a 44-character line has too few
        # frames per character for runs of fillers: then it is cut again for its length.
        read = [len(best_path(f)) for f in frames]
        widths = sorted(guesses, key=lambda n: sum(abs(r - n) for r in read))
        if widths[0] != cut_for:
            cut_for = widths[0]
            frames = self.recognise(cut_strips(block, cut_for))
        best: Attempt | None = None
        for n_chars in widths:
            best = _better(best, _decoded(frames, n_lines, n_chars, today), block)
            if best is not None and best[0].valid:
                return best
        partial = _partial(block, frames, strip_span(block, cut_for), widths)
        if partial is not None:
            partials.append(partial)
        return best

    def _complete(self, partial: Partial, today: date | None) -> Attempt | None:
        """Read a block whose lines were read short again over the whole length of an MRZ line,
        from either end of what was read (``_completions``)."""
        best: Attempt | None = None
        n_lines = len(partial.block.lines)
        for n_chars in partial.widths:
            for whole in _completions(partial, n_chars):
                best = _better(best, _decoded(self.recognise(cut_strips(whole, n_chars)), n_lines, n_chars, today), whole)
                if best is not None and best[0].valid:
                    return best
        return best

    def _reread(self, block: MrzBlock, n_chars: int, today: date | None) -> Decoded | None:
        """The block read from several cuts at once: the per-character probabilities of the
        strips cut a third of a cell left and right, and with a band a tenth lower and higher,
        averaged with the plain cut's. Where print is blurred or small, one cut's sampling can
        tip a character the wrong way; the cuts rarely all do. Costs five recognitions, so it
        is spent once per image, on the best refused reading (calibration render 800070: an
        'O' read as '0' by the plain cut alone)."""
        plain = strip_span(block, n_chars)
        pitch = (plain.right - plain.left) / (n_chars + 2 * STRIP_MARGIN_CELLS)
        rows = []
        for shift, band in REREAD_CUTS:
            span = replace(plain, left=plain.left + shift * pitch, right=plain.right + shift * pitch, height=plain.height * band)
            lines = [character_rows(f, n_chars) for f in self.recognise(cut_strips(block, n_chars, span))]
            if all(line is not None for line in lines):
                rows.append(np.concatenate([line[0] for line in lines if line is not None]))
        if len(rows) < 2:
            return None
        return _decoded_rows(np.mean(rows, axis=0), len(block.lines), n_chars, today)

    def read(self, image: np.ndarray, *, today: date | None = None) -> MrzReading:
        """Read one image (BGR or grey, any size)."""
        best: Attempt | None = None
        completed = 0
        for turn in TURNS:
            partials: list[Partial] = []
            for count, block in enumerate(find_blocks(image, turn=turn)):
                if count >= MAX_BLOCKS:
                    break
                for candidate in _both_ways_up(block):
                    attempt = self._read_block(candidate, today, partials)
                    if attempt is not None and attempt[0].valid:
                        return _reading(attempt[0])
                    if attempt is not None:
                        best = _better(best, *attempt)
            # After every block of this turn, as these cost up to four recognitions each, and
            # only a few per image: the lines read most clearly first, since a real MRZ's visible
            # part is read cleanly.
            chosen = sorted(partials, key=lambda p: -p.clarity)[: MAX_COMPLETED - completed]
            completed += len(chosen)
            for partial in chosen:
                attempt = self._complete(partial, today)
                if attempt is not None and attempt[0].valid:
                    return _reading(attempt[0])
                if attempt is not None:
                    best = _better(best, *attempt)
        if best is None:
            return MrzReading(lines=None, mrz=None, valid=False, confidence=0.0, failed_checks=("not_found",))
        result, block = best
        again = self._reread(block, len(result.lines[0]), today)
        if again is not None and (again.valid or _rank(again) > _rank(result)):
            result = again
        return _reading(result)


def _both_ways_up(block: MrzBlock) -> Iterator[MrzBlock]:
    """The block, then (only if that was not read) the block turned by 180 degrees."""
    yield block
    yield flipped(block)


def _decoded(frames: np.ndarray, n_lines: int, n_chars: int, today: date | None) -> Decoded | None:
    """The first valid decoding of recognised lines as *n_chars* characters each, else the best
    refused one; None when a line cannot be made that long."""
    rows = [character_rows(f, n_chars) for f in frames]
    if any(r is None for r in rows):
        return None
    return _decoded_rows(np.concatenate([r[0] for r in rows if r is not None]), n_lines, n_chars, today)


def _decoded_rows(probs: np.ndarray, n_lines: int, n_chars: int, today: date | None) -> Decoded:
    best: Decoded | None = None
    for fmt in formats_for(n_lines, n_chars):
        result = decode(probs, fmt, today=today)
        if result.valid:
            return result
        if best is None or _rank(result) > _rank(best):
            best = result
    assert best is not None  # every layout has at least one format
    return best


def _better(best: Attempt | None, result: Decoded | None, block: MrzBlock) -> Attempt | None:
    """*best*, or (*result*, *block*) where that ranks higher."""
    if result is None:
        return best
    return (result, block) if best is None or _rank(result) > _rank(best[0]) else best


MIN_SEEN_SHARE = 0.6  # of a line's characters read, for the rest to be looked for beyond its ends


@dataclass(frozen=True)
class Partial:
    """A block with a line that, cut over *span*, was read more than MAX_FORCED characters short
    of a length its MRZ may have (too short to be forced to it), while its longest line shows
    most of one: a candidate for ``_completions``. Any line, not only the longest: a block
    measured short at one end loses a character or two more from some lines than from others
    (calibration render 800624: 28, 27 and 26 of 30 read, so the longest could be forced and
    the shortest not, and nothing was read at all)."""

    block: MrzBlock
    paths: tuple[list[tuple[int, int]], ...]  # each line's best path: (class, peak frame)
    span: StripSpan
    widths: tuple[int, ...]  # the line lengths it is short of, likelier first
    clarity: float  # the mean probability of the read characters at their peaks


def _partial(block: MrzBlock, frames: np.ndarray, span: StripSpan, widths: list[int]) -> Partial | None:
    paths = tuple(best_path(f) for f in frames)
    longest = max(len(p) for p in paths)
    shortest = min(len(p) for p in paths)
    short_of = tuple(n for n in widths if MIN_SEEN_SHARE * n <= longest <= n + MAX_FORCED and shortest < n - MAX_FORCED)
    if not short_of:
        return None
    peaks = [float(f[t, k]) for f, path in zip(frames, paths) for k, t in path]
    return Partial(block=block, paths=paths, span=span, widths=short_of, clarity=float(np.mean(peaks)))


def _completions(partial: Partial, n_chars: int) -> list[MrzBlock]:
    """The block spanning *n_chars* cells from where its first read character starts and,
    second, to where its last one ends.

    Glare or a worn edge can fade the first or last characters of the lines below what the
    locator's thresholding sees, and a page at an oblique angle can leave a line's end out of
    the seed's crop: the lines are measured short, and read cleanly but four or more characters
    short (calibration render 800601, development render 710999). The recogniser still reads
    faint print once the strip covers it. The pitch comes from where the read characters peak
    in the frames, not from the measured length; the check digits choose between the two ends.
    """
    span = partial.span
    x_per_frame = (span.right - span.left) / span.width * STRIP_FRAME_STRIDE
    longest = max(partial.paths, key=len)
    first, last, pitch = [], [], 0.0
    for path in partial.paths:
        if len(path) < MIN_SEEN_SHARE * n_chars:
            continue
        # a line through the peaks: one stray peak moves its ends less than it moves a peak
        slope, start = np.polyfit(np.arange(len(path)), [t for _, t in path], 1)
        first.append(start)
        last.append(start + slope * (len(path) - 1))
        if path is longest:
            pitch = float(slope) * x_per_frame
    if pitch <= 0:
        return []

    def x_of(frame: float) -> float:  # the centre of a frame's columns, in crop x
        return span.left + (frame + 0.5) * x_per_frame

    left = x_of(min(first)) - pitch / 2
    right = x_of(max(last)) + pitch / 2
    block = partial.block
    return [respanned(block, left, left + n_chars * pitch), respanned(block, right - n_chars * pitch, right)]


def _rank(result: Decoded) -> tuple[bool, float]:
    """Which refused reading to report: one whose check digits all pass (refused only for low
    confidence) before one they reject, then the likelier. Ranked by likelihood alone, a reading
    that fails its checks by one look-alike (a 'Q' read as '0') was reported over the exact one
    the check digits had chosen (calibration renders 800460, 800561, 800885)."""
    return (result.mrz is not None and result.mrz.valid, result.mean_logp)


def _likely_widths(block: MrzBlock) -> tuple[int, ...]:
    """44 or 36 characters per line, the likelier first (from line length over glyph height)."""
    line = block.lines[0]
    ratio = (line.right - line.left) / max(line.height, 1.0)
    return (44, 36) if ratio > 37 else (36, 44)


def _reading(result: Decoded) -> MrzReading:
    return MrzReading(
        lines=result.lines, mrz=result.mrz, valid=result.valid,
        confidence=round(result.confidence, 4), failed_checks=result.failed_checks,
    )
