"""Fast training lines: single MRZ lines rendered straight into the reader's deskewed-crop frame.

Training only (never imported at run time). Rendering whole documents and locating them
(edge.mrz.synth + edge.mrz.locate) gives the exact run-time strips but costs about a tenth of a
second per document; a line rendered directly at the crop scale costs a few milliseconds, so the
recogniser can see hundreds of thousands of lines. The strips are still cut by the product's own
``edge.mrz.locate.cut_strips`` from a ``TextLine`` measured the way ``locate`` measures one (first
and last ink column, ink height), with the measuring errors the locator makes.

What the real specimens show and the document renders lack, and is modelled here: a low source
resolution scaled up to the crop (the MRZ often spans 300-500 px in a phone photo or scan), heavy
or thin print (ink spread, worn ribbons), uneven ink, dot-matrix-like speckle, residual blur
after deskewing, background print (guilloche) running through the characters, and line geometry
errors (a whole-cell pitch error is the locator's problem; a fraction of a cell is absorbed here).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edge.mrz.checkdigit import MRZ_ALPHABET as ALPHABET
from edge.mrz.locate import LINE_HEIGHT_PX, MrzBlock, TextLine, cut_strips
from edge.mrz.synth import font_paths, random_lines

_HI_PITCH = 32  # render pitch before the source-resolution loss
_fonts: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    key = (str(path), size)
    if key not in _fonts:
        _fonts[key] = ImageFont.truetype(str(path), size)
    return _fonts[key]


# Characters that differ by a stroke's width, a corner or a serif, most of all at low resolution.
CONFUSABLE = ("O0DQ", "I1T", "B8", "S5", "Z2", "G6C")


def _text(rng: np.random.Generator, confusable_share: float = 0.0) -> str:
    """A line as printed (realistic filler runs), uniform characters (class balance), or, with
    *confusable_share*, lines dense in characters the model confuses (O/0/D/Q, I/1/T, ...)
    printed side by side, so the difference between them is what decides the loss."""
    if confusable_share and rng.random() < confusable_share:
        n = int(rng.choice([30, 36, 44]))
        group = CONFUSABLE[int(rng.integers(len(CONFUSABLE)))]
        dense = rng.random(n) < 0.6
        return "".join(str(rng.choice(list(group))) if d else str(rng.choice(list(ALPHABET))) for d in dense)
    if rng.random() < 0.5:
        _, lines = random_lines(rng)
        return str(lines[int(rng.integers(len(lines)))])
    n = int(rng.choice([30, 36, 44]))
    chars = list(ALPHABET)
    p = np.full(len(chars), 1.0)
    p[-1] = 4.0  # fillers are the commonest MRZ character
    return "".join(rng.choice(chars, size=n, p=p / p.sum()))


def _ink_mask(rng: np.random.Generator, text: str, font: Path) -> tuple[np.ndarray, float]:
    """Glyphs as a float mask at _HI_PITCH, one glyph centred per fixed-pitch cell."""
    n = len(text)
    size = int(_HI_PITCH * rng.uniform(1.35, 1.75))
    fnt = _font(font, size)
    w, h = n * _HI_PITCH + 4 * _HI_PITCH, int(size * 2.4)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    x0, y0 = 2 * _HI_PITCH, int(size * 0.5)
    jitter = rng.uniform(0, 0.05) * _HI_PITCH
    baseline_jitter = rng.uniform(0, 0.03) * size
    for i, ch in enumerate(text):
        left, _, right, _ = fnt.getbbox(ch)
        cx = x0 + (i + 0.5) * _HI_PITCH + rng.normal(0, jitter)
        draw.text((cx - (left + right) / 2, y0 + rng.normal(0, baseline_jitter)), ch, font=fnt, fill=255)
    mask = np.asarray(img, np.float32) / 255
    # print weight: ink spread (thermal / inkjet) or thin, worn print
    weight = rng.normal(0, 0.8)
    k = int(round(abs(weight)))
    if k:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        mask = cv2.dilate(mask, kernel) if weight > 0 else cv2.erode(mask, kernel)
    return mask, float(_HI_PITCH)


def _page(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Paper: tint, smooth shading, fine texture and sometimes guilloche strokes (grey, float)."""
    base = rng.uniform(120, 250)
    coarse = cv2.resize(rng.normal(0, 1, (max(2, h // 8), max(2, w // 8))).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    page = base + rng.uniform(0, 12) * coarse + rng.uniform(0, 5) * rng.standard_normal((h, w), dtype=np.float32)
    if rng.random() < 0.4:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):
            f = rng.uniform(0.03, 0.3)
            wave = np.sin(xx * f + np.sin(yy * f * rng.uniform(0.5, 2)) * rng.uniform(1, 6) + rng.uniform(0, 6))
            page -= (wave > rng.uniform(0.9, 0.99)) * rng.uniform(8, 40)
    return page


def strip(rng: np.random.Generator, fonts: list[Path], confusable_share: float = 0.0) -> tuple[np.ndarray, str]:
    """One rendered MRZ line cut as the reader cuts it: float32 [STRIP_H, W] and its text."""
    text = _text(rng, confusable_share)
    weights = np.array([0.85] + [0.15 / max(1, len(fonts) - 1)] * (len(fonts) - 1))
    font = fonts[int(rng.choice(len(fonts), p=weights / weights.sum()))]
    mask, pitch = _ink_mask(rng, text, font)
    if rng.random() < 0.15:  # dot-matrix / uneven ink: holes in the strokes
        holes = cv2.GaussianBlur(rng.random(mask.shape).astype(np.float32), (0, 0), rng.uniform(0.8, 2.5))
        mask *= np.clip((holes - holes.mean()) / (holes.std() + 1e-6) * 2 + 2.5, 0, 1)
    # the source resolution: pitch in the photo or scan, before the reader scales it to the crop
    src_pitch = rng.uniform(6.5, 26)
    f = src_pitch / pitch
    small_mask = cv2.resize(cv2.GaussianBlur(mask, (0, 0), max(0.3, 0.45 / f)), None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    h, w = small_mask.shape
    page = _page(rng, h, w)
    ink = rng.uniform(0, 0.6) * page.mean()
    opacity = rng.uniform(0.65, 1.0)
    small = page * (1 - opacity * small_mask) + ink * opacity * small_mask
    if rng.random() < 0.25:  # glare or shading along the line
        xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        small = small + rng.uniform(20, 120) * np.exp(-((xx - rng.uniform(-1, 1)) ** 2) / (2 * rng.uniform(0.05, 0.4) ** 2))
    blur = rng.uniform(0, min(1.4, 0.11 * src_pitch)) if rng.random() < 0.7 else 0
    if blur > 0.25:
        small = cv2.GaussianBlur(small, (0, 0), blur)
    small = small * rng.uniform(0.6, 1.1) + rng.uniform(-20, 20) + rng.standard_normal(small.shape, dtype=np.float32) * rng.uniform(0, 9)
    small = np.clip(small, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 95))])
        small = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else small
    # where the locator would put the line: first and last ink columns, ink rows, with its errors
    cols = np.nonzero(mask.max(axis=0) > 0.5)[0]
    rows = np.nonzero(mask.max(axis=1) > 0.5)[0]
    if len(cols) == 0 or len(rows) == 0:  # print eroded away entirely: draw again
        return strip(rng, fonts, confusable_share)
    glyph_h = (rows[-1] - rows[0] + 1) * f
    k = LINE_HEIGHT_PX * rng.uniform(0.85, 1.15) / glyph_h  # the seed's height estimate is noisy
    if small.shape[1] * k > 8000:  # ink left only in specks: no line a locator would find
        return strip(rng, fonts, confusable_share)
    crop = cv2.resize(small, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR)
    scale = f * k
    cell = pitch * scale
    # the locator may lose a first or last glyph (watermark) or take in a speck: whole cells
    lose = rng.choice([0, 0, 0, 0, 0, 0, 1, -1], size=2)
    left = cols[0] * scale + rng.normal(0, 0.08 * cell) + lose[0] * cell
    right = (cols[-1] + 1) * scale + rng.normal(0, 0.08 * cell) - lose[1] * cell
    centre_y = (rows[0] + rows[-1]) / 2 * scale + rng.normal(0, 0.06 * LINE_HEIGHT_PX)
    height = float((rows[-1] - rows[0] + 1) * scale * rng.uniform(0.88, 1.1))
    line = TextLine(left=float(left), right=float(right), slope=float(rng.normal(0, 0.003)), intercept=float(centre_y), height=height)
    # the reader's guess of the line length (36 or 44 on a two-line block) may be wrong
    n_guess = max(20, int(round(len(text) * rng.choice([1.0, 1.0, 1.0, 36 / 44, 44 / 36]))))
    out = cut_strips(MrzBlock(crop=crop, lines=(line,), score=0.0), n_guess)[0, 0]
    return out, text


def generate_strips(seed: int, count: int, confusable_share: float = 0.0) -> list[tuple[np.ndarray, str]]:
    """*count* lines from one seed, as float16 strips and their text."""
    rng = np.random.default_rng(seed)
    fonts = font_paths()
    if not fonts:
        raise FileNotFoundError("OCR-B font missing (apt-get install fonts-ocr-b)")
    return [(x.astype(np.float16), t) for x, t in (strip(rng, fonts, confusable_share) for _ in range(count))]
