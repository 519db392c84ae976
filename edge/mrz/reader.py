"""Read the MRZ of a passport, ID card or visa from an image: ``read(image) -> MrzReading``.

locate (edge.mrz.locate) → cut each text line of a block into a strip and recognise it with the
ONNX line model ``mrz-ocrb`` (CTC, loaded through edge.modelstore, checksum verified) → one
probability row per character (edge.mrz.ctc) → decode with the layout and check digits
(edge.mrz.decode). Blocks are tried most promising first, upright and upside down, and the image
turned by 90, then by 45 and 135 degrees while nothing valid is found; the first valid reading
wins. Else a refused one is returned, one whose check digits all pass before the likeliest
(``_rank``); never an exception for an unreadable image: ``lines`` is then None.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from edge.mrz.ctc import best_path, character_rows
from edge.mrz.decode import Decoded, decode, formats_for
from edge.mrz.locate import TURNS, MrzBlock, cut_strips, find_blocks, flipped
from edge.mrz.model import Mrz

log = logging.getLogger(__name__)

MODEL_NAME = "mrz-ocrb"
MAX_BLOCKS = 6


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

    def _read_block(self, block: MrzBlock, today: date | None) -> Decoded | None:
        best: Decoded | None = None
        n_lines = len(block.lines)
        guesses = (30,) if n_lines == 3 else _likely_widths(block)
        frames = self.recognise(cut_strips(block, guesses[0]))
        # The strip is cut for the likelier length; what the model read settles it (a two-line
        # block is 44 or 36 characters a line). Cut for 36, a 44-character line has too few
        # frames per character for runs of fillers: then it is cut again for its length.
        read = [len(best_path(f)) for f in frames]
        widths = sorted(guesses, key=lambda n: sum(abs(r - n) for r in read))
        if widths[0] != guesses[0]:
            frames = self.recognise(cut_strips(block, widths[0]))
        for n_chars in widths:
            rows = [character_rows(f, n_chars) for f in frames]
            if any(r is None for r in rows):
                continue
            probs = np.concatenate([r[0] for r in rows if r is not None])
            for fmt in formats_for(n_lines, n_chars):
                result = decode(probs, fmt, today=today)
                if result.valid:
                    return result
                if best is None or _rank(result) > _rank(best):
                    best = result
        return best

    def read(self, image: np.ndarray, *, today: date | None = None) -> MrzReading:
        """Read one image (BGR or grey, any size)."""
        best: Decoded | None = None
        for turn in TURNS:
            for count, block in enumerate(find_blocks(image, turn=turn)):
                if count >= MAX_BLOCKS:
                    break
                for candidate in (block, flipped(block)):
                    result = self._read_block(candidate, today)
                    if result is None:
                        continue
                    if result.valid:
                        return _reading(result)
                    if best is None or _rank(result) > _rank(best):
                        best = result
        if best is None:
            return MrzReading(lines=None, mrz=None, valid=False, confidence=0.0, failed_checks=("not_found",))
        return _reading(best)


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
