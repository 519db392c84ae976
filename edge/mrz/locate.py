"""Find the MRZ in a photo or scan and cut it into fixed-pitch character cells (pure OpenCV).

Pipeline: adaptive threshold (dark print on a lighter page, robust to uneven light and glare) →
horizontal closing joins the characters of a line → long thin blobs are line *seeds*; each seed
gives an angle, the crop around it is deskewed, and the text lines in that crop are grouped into a
block of two or three equally long, evenly spaced lines. ICAO 9303 prints the MRZ at a fixed
pitch, so once a line's first and last glyph are known, its n cells follow (n = 30, 36 or 44).
A page rotated by 90 degrees is found by running the same search on the transposed image; 180
degrees by reading each block both ways up (see ``reader``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

WORK_SIZE_PX = 800  # the long side the search runs at
LINE_HEIGHT_PX = 28  # blocks are normalised so that a text line is about this tall
CELL_H, CELL_W = 24, 16  # classifier input, one character cell


@dataclass(frozen=True)
class TextLine:
    """One text line in a deskewed block: glyph extents and a centre line y = a*x + b."""

    left: float
    right: float
    slope: float
    intercept: float
    height: float
    centres: tuple[float, ...] = ()  # x centres of single (unmerged) glyphs, for grid fitting


@dataclass(frozen=True)
class MrzBlock:
    """A candidate MRZ: the deskewed grey crop and its two or three text lines, top to bottom."""

    crop: np.ndarray
    lines: tuple[TextLine, ...]
    score: float


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _text_mask(gray: np.ndarray, block: int) -> np.ndarray:
    block = max(3, block | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)


def find_seeds(gray: np.ndarray, max_seeds: int = 8) -> list[tuple[tuple[float, float], float, float, float]]:
    """Long thin text blobs as (centre, length, height, angle_deg) in *gray*'s coordinates."""
    h, w = gray.shape
    scale = WORK_SIZE_PX / max(h, w)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    mask = _text_mask(small, 25)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    # Join glyphs into lines with a kernel as wide as a typical glyph is tall: the gap between
    # fixed-pitch MRZ characters scales with the print size, and the image may be any resolution.
    _, g_labels, g_stats, g_centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    heights = g_stats[1:, cv2.CC_STAT_HEIGHT]
    widths = g_stats[1:, cv2.CC_STAT_WIDTH]
    areas = g_stats[1:, cv2.CC_STAT_AREA]
    is_glyph = np.concatenate([[False], (heights >= 5) & (heights <= 80) & (widths <= 1.5 * heights) & (areas >= 12)])
    # The upper quartile, not the median: specks of texture are glyph-shaped too, but small.
    glyph_h = float(np.percentile(g_stats[is_glyph, cv2.CC_STAT_HEIGHT], 75)) if is_glyph.any() else 12.0
    kernel_w = int(np.clip(glyph_h * 1.1, 7, 45))
    # Small or blurred print merges neighbours (runs of '<' above all): keep wide components of
    # glyph height too.
    narrow = is_glyph.copy()
    merged = (heights >= 0.6 * glyph_h) & (heights <= 1.5 * glyph_h) & (areas >= 0.25 * heights * widths)
    is_glyph |= np.concatenate([[False], merged])
    # Only glyph-sized components are joined: frames, photos and guilloches would bridge lines.
    glyph_mask = (is_glyph.astype(np.uint8) * 255)[g_labels]
    closed = cv2.morphologyEx(glyph_mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w, 1)))
    # Components, not outer contours: a frame around the page would swallow every line inside it.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    glyph_ids = np.nonzero(is_glyph)[0]
    glyph_owner = labels[g_centroids[glyph_ids, 1].astype(int), g_centroids[glyph_ids, 0].astype(int)]
    seeds = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if max(bw, bh) < 0.12 * WORK_SIZE_PX or area < 200:
            continue
        own = glyph_ids[glyph_owner == i]
        if len(own) < 10:
            continue
        # The seed may be a whole block of lines touching each other: its glyphs give the scale.
        single = own[narrow[own]]
        char_h = float(np.median(g_stats[single if len(single) >= 5 else own, cv2.CC_STAT_HEIGHT]))
        ys, xs = np.nonzero(labels[y : y + bh, x : x + bw] == i)
        points = np.column_stack([xs + x, ys + y]).astype(np.float32)
        rect = cv2.minAreaRect(points)
        (cx, cy), (rw, rh) = rect[0], rect[1]
        length, height = max(rw, rh), max(1.0, min(rw, rh))
        box = cv2.boxPoints(rect)
        edges = [box[(j + 1) % 4] - box[j] for j in range(2)]
        dx, dy = max(edges, key=lambda e: float(np.hypot(*e)))
        # The image angle of the long side; rotating by it (counter-clockwise) levels the line.
        angle = float(np.degrees(np.arctan2(dy, dx)))
        angle = (angle + 90) % 180 - 90
        if length < 0.15 * WORK_SIZE_PX or length < 12 * char_h or height > 6 * char_h:
            continue
        seeds.append(((cx / scale, cy / scale), length / scale, char_h / scale, angle, len(own) * length))
    seeds.sort(key=lambda s: -s[4])
    return [s[:4] for s in seeds[:max_seeds]]


def _deskewed_crop(gray: np.ndarray, centre: tuple[float, float], length: float, height: float, angle: float) -> np.ndarray:
    """The region around a seed, rotated level and scaled so the seed is LINE_HEIGHT_PX tall."""
    k = LINE_HEIGHT_PX / height
    out_w = int(length * k * 1.12) + 8
    out_h = int(LINE_HEIGHT_PX * 15)
    matrix = cv2.getRotationMatrix2D(centre, angle, k)
    matrix[0, 2] += out_w / 2 - centre[0]
    matrix[1, 2] += out_h / 2 - centre[1]
    return cv2.warpAffine(gray, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _lines_in_crop(crop: np.ndarray, min_width: float) -> list[TextLine]:
    """Long text lines in a deskewed crop, top to bottom, with their glyph extents."""
    mask = _text_mask(crop, 2 * LINE_HEIGHT_PX + 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    _, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h_ok = (stats[:, cv2.CC_STAT_HEIGHT] >= 0.35 * LINE_HEIGHT_PX) & (stats[:, cv2.CC_STAT_HEIGHT] <= 1.6 * LINE_HEIGHT_PX)
    # blur merges neighbours, a run of fillers into one long blob: keep those if they are solid
    w_ok = (stats[:, cv2.CC_STAT_WIDTH] <= 4 * LINE_HEIGHT_PX) | (
        stats[:, cv2.CC_STAT_AREA] >= 0.12 * stats[:, cv2.CC_STAT_WIDTH] * stats[:, cv2.CC_STAT_HEIGHT]
    )
    is_glyph = h_ok & w_ok
    is_glyph[0] = False
    glyphs = np.nonzero(is_glyph)[0]
    if len(glyphs) == 0:
        return []
    glyph_mask = (is_glyph.astype(np.uint8) * 255)[labels]
    closed = cv2.morphologyEx(glyph_mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (LINE_HEIGHT_PX, 1)))
    m, line_labels, line_stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    owner = line_labels[centroids[glyphs, 1].astype(int), centroids[glyphs, 0].astype(int)]
    lines = []
    for j in range(1, m):
        if line_stats[j, cv2.CC_STAT_WIDTH] < min_width:
            continue
        members = [int(i) for i in glyphs[owner == j]]
        if len(members) < 6:
            continue
        xs = np.array([centroids[i][0] for i in members])
        ys = np.array([stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] / 2 for i in members])
        heights = np.array([stats[i, cv2.CC_STAT_HEIGHT] for i in members])
        tall = heights >= 0.7 * np.median(heights)
        slope, intercept = np.polyfit(xs[tall], ys[tall], 1) if tall.sum() >= 2 else (0.0, float(np.mean(ys)))
        left, right = _extent(members, stats, xs, float(np.percentile(heights, 90)))
        single = [
            float(centroids[i][0]) for i in members
            if left <= centroids[i][0] <= right and stats[i, cv2.CC_STAT_WIDTH] <= 0.9 * LINE_HEIGHT_PX
        ]
        lines.append(TextLine(float(left), float(right), float(slope), float(intercept), float(np.median(heights[tall])), tuple(single)))
    lines.sort(key=lambda ln: ln.intercept + ln.slope * (ln.left + ln.right) / 2)
    return lines


def _extent(members: list[int], stats: np.ndarray, xs: np.ndarray, glyph_h: float) -> tuple[float, float]:
    """Left and right glyph edges of a line, ignoring specks and anything past a wide gap."""
    order = np.argsort(xs)
    keep = [members[i] for i in order if stats[members[i], cv2.CC_STAT_HEIGHT] >= 0.3 * glyph_h]
    if len(keep) < 2:
        return float(stats[members[0], cv2.CC_STAT_LEFT]), float(stats[members[0], cv2.CC_STAT_LEFT] + stats[members[0], cv2.CC_STAT_WIDTH])
    lefts = np.array([stats[i, cv2.CC_STAT_LEFT] for i in keep], dtype=np.float64)
    rights = lefts + np.array([stats[i, cv2.CC_STAT_WIDTH] for i in keep])
    # white space between neighbours: an MRZ prints a filler in every empty cell, so a gap wider
    # than about one glyph means the run has ended (blur may merge fillers into long blobs)
    gaps = lefts[1:] - np.maximum.accumulate(rights)[:-1]
    limit = 0.85 * glyph_h
    # the longest run of glyphs without a wide gap is the line itself
    best, start = (0, 0), 0
    for j, gap in enumerate(list(gaps) + [np.inf]):
        if gap > limit:
            if j - start > best[1] - best[0]:
                best = (start, j)
            start = j + 1
    start, stop = best
    # Every MRZ line starts with a full-height character (a code letter or a digit); a short
    # first component is a speck or a stray mark, and would shift every cell of the line.
    while stop - start > 5 and stats[keep[start], cv2.CC_STAT_HEIGHT] < 0.65 * glyph_h:
        start += 1
    first, last = keep[start], keep[stop]
    return float(stats[first, cv2.CC_STAT_LEFT]), float(stats[last, cv2.CC_STAT_LEFT] + stats[last, cv2.CC_STAT_WIDTH])


def _group(lines: list[TextLine]) -> list[tuple[TextLine, ...]]:
    """Runs of 2 or 3 consecutive lines of the same extent and spacing: MRZ block candidates."""
    def similar(a: TextLine, b: TextLine) -> bool:
        span = max(a.right - a.left, b.right - b.left)
        gap = (b.intercept + b.slope * b.left) - (a.intercept + a.slope * a.left)
        return (
            abs(a.left - b.left) < 0.08 * span and abs(a.right - b.right) < 0.08 * span
            and 1.0 * a.height < gap < 3.2 * a.height
        )

    groups = []
    for start in range(len(lines)):
        run = [lines[start]]
        for nxt in lines[start + 1 :]:
            if len(run) == 3 or not similar(run[-1], nxt):
                break
            run.append(nxt)
        if len(run) >= 2:
            groups.append(tuple(run))
            if len(run) == 3:
                groups.append(tuple(run[1:]))
                groups.append(tuple(run[:2]))
    return groups


def find_blocks(image: np.ndarray, *, transpose: bool = False) -> Iterator[MrzBlock]:
    """Candidate MRZ blocks in *image*, most promising seed first, found lazily."""
    gray = to_gray(image)
    if transpose:
        gray = cv2.rotate(gray, cv2.ROTATE_90_CLOCKWISE)
    seen: list[tuple[float, float]] = []
    for centre, length, height, angle in find_seeds(gray):
        if any(abs(centre[0] - c[0]) + abs(centre[1] - c[1]) < 1.5 * height for c in seen):
            continue
        min_width = 0.45 * length * LINE_HEIGHT_PX / height  # the seed's length, in crop pixels
        crop = _deskewed_crop(gray, centre, length, height, angle)
        found = _group(_lines_in_crop(crop, min_width))
        edge = LINE_HEIGHT_PX / 2
        if any(ln.left < edge or ln.right > crop.shape[1] - edge for group in found for ln in group):
            # the seed was only part of a line: a line cut by the crop edge would misplace every cell
            wide = _deskewed_crop(gray, centre, length * 2.2, height, angle)
            wide_found = _group([
                ln for ln in _lines_in_crop(wide, min_width)
                if ln.left >= edge and ln.right <= wide.shape[1] - edge
            ])
            if wide_found:
                crop, found = wide, wide_found
        # Most lines first: a three-line TD1 also contains two-line sub-blocks.
        for group in sorted(found, key=lambda g: -len(g)):
            span = float(np.mean([ln.right - ln.left for ln in group]))
            yield MrzBlock(crop=crop, lines=group, score=span * len(group))
        if found:
            seen.append(centre)


_SCALES = np.array([1.0])
_SHIFTS = np.linspace(-0.2, 0.2, 5)


def fit_grid(line: TextLine, n_chars: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres and widths of the line's n cells.

    The first and last glyph edges give a uniform grid. A photographed page is foreshortened, so
    the pitch changes along the line: the single glyphs' centres, each assigned to its nearest
    cell, refine the grid to a quadratic x(k) anchored at both ends.
    """
    pitch0 = (line.right - line.left) / n_chars
    k = np.arange(n_chars, dtype=np.float64)
    best = (-np.inf, line.left + (k + 0.5) * pitch0)
    centres = np.asarray(line.centres, dtype=np.float64)
    if len(centres) < 6:
        return best[1], np.full(n_chars, pitch0)
    for shift in _SHIFTS:
        grid = line.left + (k + 0.5 + shift) * pitch0
        pos = (centres - grid[0]) / pitch0
        d = pos - np.round(pos)
        score = float(np.sum(np.exp(-((d / 0.18) ** 2))))
        if score > best[0] + 1e-6:
            best = (score, grid)
    grid = best[1]
    for _ in range(2):
        idx = np.clip(np.round((centres - grid[0]) / pitch0).astype(int), 0, n_chars - 1)
        resid = centres - grid[idx]
        ok = np.abs(resid) < 0.35 * pitch0
        if ok.sum() < 6:
            break
        # both line ends anchor the fit so it cannot slide by a whole cell
        ks = np.concatenate([idx[ok], [0, 0, n_chars - 1, n_chars - 1]]).astype(np.float64)
        xs = np.concatenate([centres[ok], [grid[0]] * 2, [grid[-1]] * 2])
        coef = np.polyfit(ks, xs, 2)
        new = np.polyval(coef, k)
        if np.any(np.diff(new) < 0.6 * pitch0) or np.any(np.diff(new) > 1.4 * pitch0):
            break
        grid = new
    widths = np.gradient(grid) if n_chars > 1 else np.full(n_chars, pitch0)
    return grid, widths


def cut_cells(block: MrzBlock, n_chars: int) -> np.ndarray:
    """float32 [lines * n_chars, 1, CELL_H, CELL_W] character cells, ink bright, each normalised."""
    crop = block.crop.astype(np.float32)
    cells = np.empty((len(block.lines) * n_chars, 1, CELL_H, CELL_W), np.float32)
    for li, line in enumerate(block.lines):
        grid, widths = fit_grid(line, n_chars)
        half_h = 0.62 * max(line.height, 1.0) + 1
        for k in range(n_chars):
            cx = grid[k]
            half_w = 0.62 * widths[k]
            cy = line.slope * cx + line.intercept
            src = np.float32([[cx - half_w, cy - half_h], [cx + half_w, cy - half_h], [cx - half_w, cy + half_h]])
            dst = np.float32([[0, 0], [CELL_W, 0], [0, CELL_H]])
            cells[li * n_chars + k, 0] = cv2.warpAffine(
                crop, cv2.getAffineTransform(src, dst), (CELL_W, CELL_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
    flat = cells.reshape(len(cells), -1)
    mean = flat.mean(axis=1, keepdims=True)
    std = flat.std(axis=1, keepdims=True) + 8.0
    return ((mean - flat) / std).reshape(cells.shape).astype(np.float32)


def flipped(block: MrzBlock) -> MrzBlock:
    """The same block read upside down (a page rotated by 180 degrees)."""
    h, w = block.crop.shape
    lines = tuple(
        TextLine(
            left=w - ln.right, right=w - ln.left, slope=ln.slope,
            intercept=(h - 1) - (ln.intercept + ln.slope * (w - 1)), height=ln.height,
            centres=tuple(sorted(w - c for c in ln.centres)),
        )
        for ln in reversed(block.lines)
    )
    return MrzBlock(crop=cv2.rotate(block.crop, cv2.ROTATE_180), lines=lines, score=block.score)
