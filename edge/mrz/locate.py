"""Find the MRZ in a photo or scan and cut its lines into strips for the recogniser (pure OpenCV).

Pipeline: adaptive threshold (dark print on a lighter page, robust to uneven light and glare) →
horizontal closing joins the characters of a line → long thin blobs are line *seeds*; each seed
gives an angle, the crop around it is deskewed, and the text lines in that crop are grouped into a
block of two or three equally long, evenly spaced lines. ICAO 9303 prints the MRZ at a fixed
pitch, so the lines' first and last glyphs give the pitch for n cells (n = 30, 36 or 44), and each
line is cut as one strip sampled at a fixed number of columns per cell.
A page rotated by 90 degrees is found by running the same search on the image turned by 90
degrees. At an oblique angle a line's glyphs form a staircase that the horizontal closing joins
only while they are large and the background is quiet; the image turned by 45 or 135 degrees
brings such a page near level. 180 degrees is handled by reading each block both ways up (see
``reader``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

log = logging.getLogger(__name__)

WORK_SIZE_PX = 800  # the long side the search runs at
LINE_HEIGHT_PX = 28  # blocks are normalised so that a text line is about this tall
CROP_HEIGHT_LINES = 11  # a seed's crop is this many line heights tall: room for a TD1 block around it


@dataclass(frozen=True)
class TextLine:
    """One text line in a deskewed block: glyph extents and a centre line y = a*x + b."""

    left: float
    right: float
    slope: float
    intercept: float
    height: float


@dataclass(frozen=True)
class MrzBlock:
    """A candidate MRZ: the deskewed grey crop and its two or three text lines, top to bottom."""

    crop: np.ndarray
    lines: tuple[TextLine, ...]
    score: float
    scale: float = 1.0  # crop pixels per image pixel: how large the print was in the image
    # The grey image the crop was cut from and the affine matrix from it to the crop: what
    # ``respanned`` needs to widen the crop past its edges. None for a crop made on its own.
    source: np.ndarray | None = field(default=None, compare=False, repr=False)
    to_crop: np.ndarray | None = field(default=None, compare=False, repr=False)


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _text_mask(gray: np.ndarray, block: int) -> np.ndarray:
    block = max(3, block | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)


_FIRST_COLUMNS = 32  # of a component's box, searched for its top row's first pixel at once (``_pixel_of``)


def _pixel_of(labels: np.ndarray, stats: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of one pixel of each component in *ids*: its leftmost pixel on its top row.

    Not the centroid: that of a '7', '1' or '<' can fall outside the ink, where the line mask
    that should own the glyph may have no pixel (a line's first glyph has nothing to its left).
    """
    ids = np.asarray(ids)
    ys = stats[ids, cv2.CC_STAT_TOP]
    if len(ids) == 0:
        return ys, ys.copy()
    lefts = stats[ids, cv2.CC_STAT_LEFT]
    # The first pixel of label i on row ys[i] lies inside its box's columns, nearly always in
    # the first few: one vectorised search of those (a search of whole rows cost as much as
    # the labelling), then the rest of the box for the few not found there (a run of fillers
    # merged into one blob, whose top row starts at the first filler's tip).
    cols = lefts[:, None] + np.arange(_FIRST_COLUMNS)
    np.minimum(cols, labels.shape[1] - 1, out=cols)
    hits = labels[ys[:, None], cols] == ids[:, None]
    xs = lefts + np.argmax(hits, axis=1)
    for j in np.nonzero(~hits.any(axis=1))[0]:
        row = labels[ys[j], lefts[j] : lefts[j] + stats[ids[j], cv2.CC_STAT_WIDTH]]
        xs[j] = lefts[j] + int(np.argmax(row == ids[j]))
    return ys, xs


def _components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats``, 8-connected, with 16-bit labels where they fit:
    OpenCV's 16-bit path labels the same components in half the time or less. Noise can make
    more components than 16 bits count; OpenCV then raises, and the 32-bit path is taken."""
    try:
        return cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:
        return cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)


def _mask_of(labels: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """255 where *labels* holds a component *chosen* (a bool per label), else 0. ``np.take`` with
    clipping instead of fancy indexing: about a third of the time, the same result (labels are in range)."""
    return np.take(chosen.astype(np.uint8) * 255, labels, mode="clip")


Seed = tuple[tuple[float, float], float, float, float]  # centre, length, glyph height, angle (degrees)


def find_seeds(gray: np.ndarray, max_seeds: int = 8) -> Iterator[Seed]:
    """Long thin text blobs as (centre, length, height, angle_deg) in *gray*'s coordinates, found
    lazily: each further glyph-height guess costs a closing and a labelling, paid only when the
    reader has not found the MRZ among the earlier guesses' seeds."""
    h, w = gray.shape
    scale = WORK_SIZE_PX / max(h, w)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    mask = _text_mask(small, 25)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    _, g_labels, g_stats, _ = _components(mask)
    heights = g_stats[1:, cv2.CC_STAT_HEIGHT]
    widths = g_stats[1:, cv2.CC_STAT_WIDTH]
    areas = g_stats[1:, cv2.CC_STAT_AREA]
    narrow = np.concatenate([[False], (heights >= 5) & (heights <= 80) & (widths <= 1.5 * heights) & (areas >= 12)])
    if not narrow.any():
        guesses = [12.0]
    else:
        # The upper quartile first, not the median: specks of texture are glyph-shaped too, but
        # small. On a coarse background, though, texture blobs as large as the glyphs lift the
        # upper quartile above the MRZ's glyph height, and a kernel that wide joins the texture
        # to the lines (calibration render 800482); where small text crowds the page, the MRZ's
        # glyphs are the tallest. Other quantiles follow, most likely first. On calibration seeds
        # 800000-800999, (75) alone accepted 943 readings, (75, 50) 950, these four 953.
        guesses = [float(q) for q in np.percentile(g_stats[narrow, cv2.CC_STAT_HEIGHT], (75, 50, 90, 30))]
    seeds: list[Seed] = []
    kernels: set[int] = set()
    for glyph_h in guesses:
        kernel_w = int(np.clip(glyph_h * 1.1, 7, 45)) | 1
        if kernel_w in kernels:
            continue
        kernels.add(kernel_w)
        for seed in _seeds_joined_at(g_labels, g_stats, narrow, glyph_h, kernel_w, scale)[:max_seeds]:
            if not any(_same_seed(seed, other) for other in seeds):
                seeds.append(seed)
                yield seed


def _same_seed(a: Seed, b: Seed) -> bool:
    """The same line found again by the other closing: searching it twice would only cost time."""
    (ax, ay), _, ah, _ = a
    (bx, by), _, bh, _ = b
    return abs(ax - bx) + abs(ay - by) < 0.5 * ah and abs(ah - bh) < 0.2 * ah


def _seeds_joined_at(
    g_labels: np.ndarray, g_stats: np.ndarray, narrow: np.ndarray, glyph_h: float, kernel_w: int, scale: float,
) -> list[Seed]:
    """Seeds from glyph components joined into lines by a closing *kernel_w* wide, most glyphs
    times length first, in the original image's coordinates."""
    heights = g_stats[1:, cv2.CC_STAT_HEIGHT]
    widths = g_stats[1:, cv2.CC_STAT_WIDTH]
    areas = g_stats[1:, cv2.CC_STAT_AREA]
    # Small or blurred print merges neighbours (runs of '<' above all): keep wide components of
    # glyph height too.
    merged = (heights >= 0.6 * glyph_h) & (heights <= 1.5 * glyph_h) & (areas >= 0.25 * heights * widths)
    is_glyph = narrow | np.concatenate([[False], merged])
    # Only glyph-sized components are joined: frames, photos and guilloches would bridge lines.
    # The kernel is as wide as a typical glyph is tall: the gap between fixed-pitch MRZ characters
    # scales with the print size, and the image may be any resolution.
    glyph_mask = _mask_of(g_labels, is_glyph)
    closed = cv2.morphologyEx(glyph_mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_w, 1)))
    # Components, not outer contours: a frame around the page would swallow every line inside it.
    # (No statistics: a component's box is its glyphs' boxes together, since a horizontal closing
    # only fills between glyphs, and only components of ten glyphs or more are looked at.)
    _, labels = cv2.connectedComponents(closed, connectivity=8)
    glyph_ids = np.nonzero(is_glyph)[0]
    glyph_owner = labels[_pixel_of(g_labels, g_stats, glyph_ids)]
    g_left = g_stats[:, cv2.CC_STAT_LEFT]
    g_top = g_stats[:, cv2.CC_STAT_TOP]
    g_right = g_left + g_stats[:, cv2.CC_STAT_WIDTH]
    g_bottom = g_top + g_stats[:, cv2.CC_STAT_HEIGHT]
    seeds = []
    for i in np.nonzero(np.bincount(glyph_owner) >= 10)[0]:
        own = glyph_ids[glyph_owner == i]
        x, y = int(g_left[own].min()), int(g_top[own].min())
        bw, bh = int(g_right[own].max()) - x, int(g_bottom[own].max()) - y
        if max(bw, bh) < 0.12 * WORK_SIZE_PX:
            continue
        roi = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
        if int(roi.sum()) < 200:
            continue
        # The seed may be a whole block of lines touching each other: its glyphs give the scale.
        single = own[narrow[own]]
        char_h = float(np.median(g_stats[single if len(single) >= 5 else own, cv2.CC_STAT_HEIGHT]))
        # the outer contour has the same minimum-area rectangle as all the pixels, and far fewer points
        contours, _ = cv2.findContours(roi, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        points = np.concatenate(contours).reshape(-1, 2).astype(np.float32) + np.float32([x, y])
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
    return [s[:4] for s in seeds]


def _deskewed_crop(gray: np.ndarray, centre: tuple[float, float], length: float, height: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The region around a seed, rotated level and scaled so the seed is LINE_HEIGHT_PX tall, and
    the affine matrix from image to crop."""
    k = LINE_HEIGHT_PX / height
    out_w = int(length * k * 1.12) + 8
    out_h = int(LINE_HEIGHT_PX * CROP_HEIGHT_LINES)
    matrix = cv2.getRotationMatrix2D(centre, angle, k)
    matrix[0, 2] += out_w / 2 - centre[0]
    matrix[1, 2] += out_h / 2 - centre[1]
    return cv2.warpAffine(gray, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), matrix


def _cut_between_rows(mask: np.ndarray) -> None:
    """Clear the rows between closely spaced text lines, in place.

    Blur or tight line spacing makes glyphs of neighbouring MRZ lines touch; the merged
    components are then too tall to be glyphs and the lines are lost. Between two text rows the
    ink per row (the crop is level) falls to a valley well below both rows; clearing the valley
    row separates them and never cuts through a glyph (inside a text row the profile is high).
    """
    ink = cv2.reduce(mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S) // 255  # ink pixels per row (the mask is 0 or 255)
    profile = cv2.GaussianBlur(ink.astype(np.float32), (1, 0), 1.5).ravel()
    reach = int(0.8 * LINE_HEIGHT_PX)
    n = len(profile)
    if n < 2 * reach + 3:
        return
    padded = np.pad(profile, reach, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    above = windows[:, :reach].max(axis=1)
    below = windows[:, reach + 1 :].max(axis=1)
    is_min = windows.argmin(axis=1) == reach
    valley = is_min & (profile < 0.5 * np.minimum(above, below)) & (np.minimum(above, below) > 0.05 * mask.shape[1])
    rows = np.nonzero(valley)[0]
    mask[rows] = 0


@dataclass(frozen=True)
class CropGlyphs:
    """A crop's glyph-sized components and the line each was joined into (``owner``, by a
    horizontal closing): what its text lines are built from, plainly or rejoined."""

    stats: np.ndarray
    centroids: np.ndarray
    is_glyph: np.ndarray  # per component
    glyphs: np.ndarray  # ids of the glyph components
    owner: np.ndarray  # per glyph: its line's label


def _glyphs_in_crop(crop: np.ndarray) -> CropGlyphs:
    mask = _text_mask(crop, 2 * LINE_HEIGHT_PX + 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    _cut_between_rows(mask)
    _, labels, stats, centroids = _components(mask)
    h_ok = (stats[:, cv2.CC_STAT_HEIGHT] >= 0.35 * LINE_HEIGHT_PX) & (stats[:, cv2.CC_STAT_HEIGHT] <= 1.6 * LINE_HEIGHT_PX)
    # blur merges neighbours, a run of fillers into one long blob: keep those if they are solid
    w_ok = (stats[:, cv2.CC_STAT_WIDTH] <= 4 * LINE_HEIGHT_PX) | (
        stats[:, cv2.CC_STAT_AREA] >= 0.12 * stats[:, cv2.CC_STAT_WIDTH] * stats[:, cv2.CC_STAT_HEIGHT]
    )
    is_glyph = h_ok & w_ok
    is_glyph[0] = False
    glyphs = np.nonzero(is_glyph)[0]
    if len(glyphs) == 0:
        return CropGlyphs(stats, centroids, is_glyph, glyphs, np.zeros(0, np.int32))
    glyph_mask = _mask_of(labels, is_glyph)
    # odd kernel widths: OpenCV's closing with an even one shifts the result by a pixel, and a
    # glyph's own pixel could then fall outside its line
    closed = cv2.morphologyEx(glyph_mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (LINE_HEIGHT_PX | 1, 1)))
    _, line_labels = cv2.connectedComponents(closed, connectivity=8)
    return CropGlyphs(stats, centroids, is_glyph, glyphs, line_labels[_pixel_of(labels, stats, glyphs)])


def _lines_in_crop(crop: np.ndarray, min_width: float, *, rejoin: bool = False) -> list[TextLine]:
    """Long text lines in a deskewed crop, top to bottom, with their glyph extents; with *rejoin*,
    also lines that a stroke across them broke into pieces (``_rejoined``)."""
    return _lines_of(_glyphs_in_crop(crop), min_width, rejoin=rejoin)


def _lines_of(found: CropGlyphs, min_width: float, *, rejoin: bool = False) -> list[TextLine]:
    """``_lines_in_crop`` from a crop already labelled: the rejoined lines come from the same
    labelling as the plain ones."""
    stats, centroids, glyphs, owner = found.stats, found.centroids, found.glyphs, found.owner
    if len(glyphs) == 0:
        return []
    bridges: dict[int, list[int]] = {}
    if rejoin:
        too_big = ~found.is_glyph & (stats[:, cv2.CC_STAT_HEIGHT] >= 0.35 * LINE_HEIGHT_PX)  # not specks
        too_big[0] = False
        owner, bridges = _rejoined(owner, glyphs, stats, centroids, np.nonzero(too_big)[0])
    lefts = stats[glyphs, cv2.CC_STAT_LEFT]
    rights = lefts + stats[glyphs, cv2.CC_STAT_WIDTH]
    # each label's extent at once: most labels are single specks or words, far short of a line
    order = np.argsort(owner, kind="stable")
    line_ids, starts = np.unique(owner[order], return_index=True)
    extents = np.maximum.reduceat(rights[order], starts) - np.minimum.reduceat(lefts[order], starts)
    lines = []
    for j in line_ids[extents >= min_width]:  # a line's extent is its glyphs'
        members = glyphs[owner == j]
        # heavy blur merges a whole run of glyphs into one blob: count it by its width
        glyph_count = sum(max(1.0, w / LINE_HEIGHT_PX) for w in stats[members, cv2.CC_STAT_WIDTH].tolist())
        if glyph_count < 6:
            continue
        xs = centroids[members, 0]
        ys = stats[members, cv2.CC_STAT_TOP] + stats[members, cv2.CC_STAT_HEIGHT] / 2
        heights = stats[members, cv2.CC_STAT_HEIGHT]
        tall = heights >= 0.7 * np.median(heights)
        slope, intercept = np.polyfit(xs[tall], ys[tall], 1) if tall.sum() >= 2 else (0.0, float(np.mean(ys)))
        # a stroke that broke the line stands in for the glyphs it swallowed, for the extent only
        spanned = np.concatenate([members, np.asarray(bridges.get(int(j), []), dtype=members.dtype)])
        left, right = _extent(spanned, stats, centroids[spanned, 0], float(np.percentile(heights, 90)), float(slope), float(intercept))
        lines.append(TextLine(float(left), float(right), float(slope), float(intercept), float(np.median(heights[tall]))))
    lines.sort(key=lambda ln: ln.intercept + ln.slope * (ln.left + ln.right) / 2)
    return lines


def _rejoined(
    owner: np.ndarray, glyphs: np.ndarray, stats: np.ndarray, centroids: np.ndarray, others: np.ndarray,
) -> tuple[np.ndarray, dict[int, list[int]]]:
    """*owner* with the pieces of one text line under one label, and the components bridging them.

    A guilloche stroke across a line touches the glyphs under it, and the merged blob, too tall
    for a glyph, is left out: the line falls apart into pieces, each too short for an MRZ line
    (calibration render 800728). Two pieces are one line when the longer one's centre line runs
    through the other's glyphs and the gap between them is covered by ink that crosses that
    line: white space there is the end of a line, since an MRZ prints a filler in every cell.
    """
    owner = owner.copy()
    bridges: dict[int, list[int]] = {}
    if len(others) == 0:
        return owner, bridges
    ys = stats[glyphs, cv2.CC_STAT_TOP] + stats[glyphs, cv2.CC_STAT_HEIGHT] / 2
    xs = centroids[glyphs, 0]
    lefts = stats[glyphs, cv2.CC_STAT_LEFT].astype(np.float64)
    rights = lefts + stats[glyphs, cv2.CC_STAT_WIDTH]
    o_left = stats[others, cv2.CC_STAT_LEFT].astype(np.float64)
    o_right = o_left + stats[others, cv2.CC_STAT_WIDTH]
    o_top = stats[others, cv2.CC_STAT_TOP].astype(np.float64)
    o_bottom = o_top + stats[others, cv2.CC_STAT_HEIGHT]
    fits: dict[int, tuple[float, float]] = {}
    for j in np.unique(owner):
        mine = owner == j
        if mine.sum() >= 3 and np.ptp(xs[mine]) > 2 * LINE_HEIGHT_PX:
            slope, intercept = np.polyfit(xs[mine], ys[mine], 1)
            fits[int(j)] = (float(slope), float(intercept))
    for a in sorted(fits, key=lambda j: -np.ptp(xs[owner == j])):
        slope, intercept = fits[a]
        changed = True
        while changed:
            changed = False
            a_mask = owner == a
            if not a_mask.any():  # joined to a longer line already
                break
            a_left, a_right = lefts[a_mask].min(), rights[a_mask].max()
            for b in np.unique(owner[~a_mask]):
                b_mask = owner == b
                if np.abs(ys[b_mask] - (slope * xs[b_mask] + intercept)).max() >= LINE_HEIGHT_PX / 3:
                    continue
                b_left, b_right = lefts[b_mask].min(), rights[b_mask].max()
                gap = (a_right, b_left) if b_left >= a_right else (b_right, a_left) if a_left >= b_right else None
                if gap is None or gap[1] - gap[0] > 6 * LINE_HEIGHT_PX:
                    continue
                # the blobs in the gap that cross the centre line, and the white left between them
                mid_y = slope * (o_left + o_right) / 2 + intercept
                crossing = (o_right > gap[0]) & (o_left < gap[1]) & (o_top < mid_y) & (o_bottom > mid_y)
                spans = sorted(zip(o_left[crossing], o_right[crossing]))
                reach, widest = gap[0], 0.0
                for left, right in spans:
                    widest, reach = max(widest, left - reach), max(reach, right)
                widest = max(widest, gap[1] - reach)
                if not spans or widest > 0.85 * LINE_HEIGHT_PX:
                    continue
                owner[b_mask] = a
                bridges.setdefault(int(a), []).extend(int(i) for i in others[crossing])
                bridges.setdefault(int(a), []).extend(bridges.pop(int(b), []))
                changed = True
                break
    return owner, bridges


def _extent(members: np.ndarray, stats: np.ndarray, xs: np.ndarray, glyph_h: float, slope: float = 0.0, intercept: float | None = None) -> tuple[float, float]:
    """Left and right glyph edges of a line, ignoring specks and anything past a wide gap."""
    ordered = members[np.argsort(xs)]
    keep = ordered[stats[ordered, cv2.CC_STAT_HEIGHT] >= 0.3 * glyph_h]
    if len(keep) < 2:
        return float(stats[members[0], cv2.CC_STAT_LEFT]), float(stats[members[0], cv2.CC_STAT_LEFT] + stats[members[0], cv2.CC_STAT_WIDTH])
    lefts = stats[keep, cv2.CC_STAT_LEFT].astype(np.float64)
    rights = lefts + stats[keep, cv2.CC_STAT_WIDTH]
    # white space between neighbours: an MRZ prints a filler in every empty cell, so a gap wider
    # than about one glyph means the run has ended (blur may merge fillers into long blobs)
    gaps = lefts[1:] - np.maximum.accumulate(rights)[:-1]
    # the longest run of glyphs without a wide gap is the line itself (the first of the longest)
    ends = np.append(np.nonzero(gaps > 0.85 * glyph_h)[0], len(gaps))  # each run's last glyph
    run_starts = np.concatenate([[0], ends[:-1] + 1])
    longest = int(np.argmax(ends - run_starts))
    start, stop = int(run_starts[longest]), int(ends[longest])
    # Every MRZ line starts with a full-height character (a code letter or a digit); a short
    # first component is a speck or a stray mark, and would shift every cell of the line.
    while stop - start > 5 and stats[keep[start], cv2.CC_STAT_HEIGHT] < 0.65 * glyph_h:
        start += 1
    if intercept is not None:
        # A background stroke (guilloche) running into the line chains on like more glyphs; MRZ
        # glyphs sit on the line, no taller than the others. Off-line components at either
        # end are not part of it.
        def off_line(i: int) -> bool:
            top, h = stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_HEIGHT]
            x = stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] / 2
            return bool(abs(top + h / 2 - (slope * x + intercept)) > 0.4 * glyph_h or h > 1.35 * glyph_h or h < 0.3 * glyph_h)

        while stop - start > 5 and off_line(keep[start]):
            start += 1
        while stop - start > 5 and off_line(keep[stop]):
            stop -= 1
    first, last = keep[start], keep[stop]
    return float(stats[first, cv2.CC_STAT_LEFT]), float(stats[last, cv2.CC_STAT_LEFT] + stats[last, cv2.CC_STAT_WIDTH])


def _spaced(a: TextLine, b: TextLine) -> bool:
    gap = (b.intercept + b.slope * b.left) - (a.intercept + a.slope * a.left)
    return 1.0 * a.height < gap < 3.2 * a.height


def _overlap(a: TextLine, b: TextLine) -> bool:
    """The lines share at least a third of the shorter one's extent."""
    shared = min(a.right, b.right) - max(a.left, b.left)
    return shared > min(a.right - a.left, b.right - b.left) / 3


def _same_extent(a: TextLine, b: TextLine) -> bool:
    span = max(a.right - a.left, b.right - b.left)
    return abs(a.left - b.left) < 0.08 * span and abs(a.right - b.right) < 0.08 * span and _spaced(a, b)


def _one_end_shared(a: TextLine, b: TextLine) -> bool:
    span = max(a.right - a.left, b.right - b.left)
    tol = 0.08 * span
    short, long_ = sorted((a, b), key=lambda ln: ln.right - ln.left)
    inside = short.left > long_.left - tol and short.right < long_.right + tol
    return (
        inside and (short.right - short.left) >= 0.4 * span
        and (abs(a.left - b.left) < tol or abs(a.right - b.right) < tol) and _spaced(a, b)
    )


def _group(lines: list[TextLine]) -> list[tuple[TextLine, ...]]:
    """Runs of 2 or 3 lines, each below the last, of the same extent and spacing: MRZ block
    candidates. A line beside the run (overlapping it by less than a third) is passed over.

    Runs whose lines agree at both ends come first. Then runs where they agree at one end only and
    the shorter line lies inside the longer: a stamp, a hologram or a guilloche stroke across
    one end of a line breaks its glyphs there, so its measured extent stops short (the Qatar
    specimen's "SPECIMEN" stamp). ``block_variants`` extends those to the longest line's ends.
    """
    groups: list[tuple[TextLine, ...]] = []
    for similar in (_same_extent, _one_end_shared):
        for start in range(len(lines)):
            run = [lines[start]]
            for nxt in lines[start + 1 :]:
                if not _overlap(run[-1], nxt):
                    continue  # beside it, not below it: text at the page's side, the border fill
                if len(run) == 3 or not similar(run[-1], nxt):
                    break
                run.append(nxt)
            runs = [tuple(run)] + ([tuple(run[1:]), tuple(run[:2])] if len(run) == 3 else [])
            groups += [r for r in runs if len(r) >= 2 and r not in groups]
    return groups


def block_variants(group: tuple[TextLine, ...]) -> list[tuple[TextLine, ...]]:
    """The line ends to read a group with: ``aligned`` for lines that agree at both ends; for a
    line cut short at one end, only every line extended to the group's outer ends."""
    if all(_same_extent(a, b) for a, b in zip(group, group[1:])):
        return aligned(group)
    left, right = min(ln.left for ln in group), max(ln.right for ln in group)
    return [tuple(TextLine(left, right, ln.slope, ln.intercept, ln.height) for ln in group)]


def _cut_at_side(group: tuple[TextLine, ...], width: int) -> bool:
    """A line of the group runs into the crop's left or right edge (it may have lost glyphs)."""
    edge = LINE_HEIGHT_PX / 2
    return any(ln.left < edge or ln.right > width - edge for ln in group)


def _cut_at_top_or_bottom(lines: tuple[TextLine, ...], crop_h: int) -> bool:
    """The band a strip samples around a line (1.6 glyph heights, over the lines' shared span and
    its margins, as ``cut_strips`` takes it) leaves the crop.

    Its glyphs are then cut, and the border fill makes a cut 'N' look like a sure 'U' (a names
    line has no check digit to catch it): such a line is never read from this crop.
    """
    half = 0.8 * float(np.median([ln.height for ln in lines]))
    left, right = min(ln.left for ln in lines), max(ln.right for ln in lines)
    pitch = (right - left) / 30  # the widest pitch an MRZ line can have
    xs = (left - 1.5 * pitch, right + 1.5 * pitch)
    return any(ln.intercept + ln.slope * x - half < 0 or ln.intercept + ln.slope * x + half > crop_h - 1 for ln in lines for x in xs)


def _widened(
    gray: np.ndarray, crop: np.ndarray, matrix: np.ndarray, lines: list[TextLine], found: list[tuple[TextLine, ...]],
    seed: tuple[float, float, float], min_width: float,
) -> Iterator[tuple[np.ndarray, np.ndarray, list[tuple[TextLine, ...]]]]:
    """The crop, its matrix from *gray* and its line groups that lie inside it; then (lazily) wider crops'.

    The seed may be only part of a line (a glyph run broken by glare or a fold), and a line cut
    by the crop edge has lost characters. While a line runs into the edge, the next crop centres
    on the lines found so far and spans 2.2 times as much as they reach (at most twice). A line
    cut at the top or bottom (the seed was the first or last line of a block, or the page is
    tilted in the crop) also makes the next crop centre on it and its neighbours. The first
    crop's groups that run into its left or right edge come last: a line may end near the edge
    without losing a glyph. A group cut at the top or bottom is never yielded.
    """
    length, height, angle = seed
    first: tuple[np.ndarray, np.ndarray, list[tuple[TextLine, ...]]] | None = None
    for attempt in range(3):
        if attempt:
            found = _group(lines)
        crop_h, crop_w = crop.shape
        whole = [g for g in found if not _cut_at_top_or_bottom(g, crop_h)]
        intact = [g for g in whole if not _cut_at_side(g, crop_w)]
        if first is None:
            first = (crop, matrix, [g for g in whole if _cut_at_side(g, crop_w)])
        if intact:
            yield crop, matrix, intact
        cut_lines = [ln for ln in lines if _cut_at_top_or_bottom((ln,), crop_h)]
        if attempt == 2 or (len(intact) == len(found) and not cut_lines):
            break
        near = [ln for g in found for ln in g] + cut_lines
        left, right = min(ln.left for ln in near), max(ln.right for ln in near)
        mid_x = (left + right) / 2
        mid_y = float(np.mean([ln.intercept + ln.slope * mid_x for ln in near]))
        cx, cy = cv2.invertAffineTransform(matrix) @ np.array([mid_x, mid_y, 1.0])
        length = 2.2 * max(length, (right - left) * height / LINE_HEIGHT_PX)
        crop, matrix = _deskewed_crop(gray, (float(cx), float(cy)), length, height, angle)
        lines = _lines_in_crop(crop, min_width)
    if first is not None and first[2]:
        yield first


TURNS = (0, 90, 45, 135)  # degrees clockwise: the searches that together cover every angle


def turned(gray: np.ndarray, degrees: int) -> np.ndarray:
    """*gray* turned clockwise by a multiple of 45 degrees, on a canvas that holds all of it.

    The corners a 45-degree turn leaves empty get the image's median grey: replicated edge
    pixels would make streaks the locator takes for text lines.
    """
    if degrees % 90 == 0:
        return np.rot90(gray, -(degrees // 90) % 4).copy()
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    side = int(np.ceil((h + w) / np.sqrt(2)))
    matrix[:, 2] += (side / 2 - w / 2, side / 2 - h / 2)
    fill = float(np.median(gray))
    return cv2.warpAffine(gray, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def find_blocks(image: np.ndarray, *, turn: int = 0) -> Iterator[MrzBlock]:
    """Candidate MRZ blocks in *image* turned clockwise by *turn* degrees (one of ``TURNS``),
    most promising seed first, found lazily."""
    gray = turned(to_gray(image), turn)
    seen: list[tuple[float, float]] = []
    searched: list[tuple[np.ndarray, np.ndarray, float, CropGlyphs, list[TextLine], float]] = []
    for centre, length, height, angle in find_seeds(gray):
        if any(abs(centre[0] - c[0]) + abs(centre[1] - c[1]) < 1.5 * height for c in seen):
            continue
        min_width = 0.45 * length * LINE_HEIGHT_PX / height  # the seed's length, in crop pixels
        crop, matrix = _deskewed_crop(gray, centre, length, height, angle)
        glyphs = _glyphs_in_crop(crop)
        lines = _lines_of(glyphs, min_width)
        searched.append((crop, matrix, min_width, glyphs, lines, height))
        found = _group(lines)
        for wide, wide_matrix, groups in _widened(gray, crop, matrix, lines, found, (length, height, angle), min_width):
            yield from _blocks(gray, wide, wide_matrix, groups, height)
        if found:
            seen.append(centre)
    # Lines a stroke broke into pieces, joined again: only after every plain block, which they
    # would otherwise displace (joining them first lost readings that were accepted before).
    for crop, matrix, min_width, glyphs, plain, height in searched:
        joined = _lines_of(glyphs, min_width, rejoin=True)
        if joined == plain:
            continue
        known = set(_group(plain))
        new = [g for g in _group(joined) if g not in known and not _cut_at_top_or_bottom(g, crop.shape[0])]
        yield from _blocks(gray, crop, matrix, new, height)


def _blocks(
    gray: np.ndarray, crop: np.ndarray, matrix: np.ndarray, groups: list[tuple[TextLine, ...]], height: float,
) -> Iterator[MrzBlock]:
    """The blocks to read for *groups* of lines in *crop* (cut from *gray* by *matrix*), most
    lines first (a three-line TD1 also contains two-line sub-blocks); *height* is the seed's
    glyph height in the image."""
    for group in sorted(groups, key=lambda g: -len(g)):
        span = float(np.mean([ln.right - ln.left for ln in group]))
        for variant in block_variants(group):
            yield MrzBlock(
                crop=crop, lines=variant, score=span * len(group), scale=LINE_HEIGHT_PX / height,
                source=gray, to_crop=matrix,
            )


def aligned(lines: tuple[TextLine, ...]) -> list[tuple[TextLine, ...]]:
    """The block's lines with their ends made to agree, likeliest first.

    Every MRZ line holds the same number of fixed-pitch cells (fillers included), so all lines
    start and end at the same x. A line end that disagrees by more than about half a cell was
    mismeasured: a first glyph merged into a watermark, a guilloche stroke or speck extending a
    line. With three lines the other two outvote it; with two the reader gets each choice of
    ends (and the check digits decide).
    """
    span = float(np.median([ln.right - ln.left for ln in lines]))
    tol = 0.6 * span / 44  # half a cell at the finest pitch
    lefts = np.array([ln.left for ln in lines])
    rights = np.array([ln.right for ln in lines])
    if np.ptp(lefts) <= tol and np.ptp(rights) <= tol:
        return [lines]

    def with_ends(left_of: np.ndarray, right_of: np.ndarray) -> tuple[TextLine, ...]:
        return tuple(
            ln if (ln.left, ln.right) == (lft, rgt) else TextLine(float(lft), float(rgt), ln.slope, ln.intercept, ln.height)
            for ln, lft, rgt in zip(lines, left_of, right_of)
        )

    # The lines as measured are not offered: one of them is off by a cell or more, and a names
    # line (no check digit) shifted by a whole cell reads as confident, wrong letters.
    if len(lines) >= 3:
        med_l, med_r = float(np.median(lefts)), float(np.median(rights))
        new_l = np.where(np.abs(lefts - med_l) > tol, med_l, lefts)
        new_r = np.where(np.abs(rights - med_r) > tol, med_r, rights)
        return [with_ends(new_l, new_r)]
    variants = []
    for ref_l in range(len(lines)):
        for ref_r in range(len(lines)):
            new_l = np.where(np.abs(lefts - lefts[ref_l]) > tol, lefts[ref_l], lefts)
            new_r = np.where(np.abs(rights - rights[ref_r]) > tol, rights[ref_r], rights)
            variant = with_ends(new_l, new_r)
            if variant not in variants:
                variants.append(variant)
    return variants


def flipped(block: MrzBlock) -> MrzBlock:
    """The same block read upside down (a page rotated by 180 degrees)."""
    h, w = block.crop.shape
    lines = tuple(
        TextLine(
            left=w - ln.right, right=w - ln.left, slope=ln.slope,
            intercept=(h - 1) - (ln.intercept + ln.slope * (w - 1)), height=ln.height,
        )
        for ln in reversed(block.lines)
    )
    to_crop = None
    if block.to_crop is not None:  # the turn maps crop pixel (x, y) to (w - 1 - x, h - 1 - y)
        to_crop = np.array([[-1.0, 0.0, w - 1.0], [0.0, -1.0, h - 1.0]]) @ np.vstack([block.to_crop, [0.0, 0.0, 1.0]])
    return MrzBlock(
        crop=cv2.rotate(block.crop, cv2.ROTATE_180), lines=lines, score=block.score, scale=block.scale,
        source=block.source, to_crop=to_crop,
    )


def respanned(block: MrzBlock, left: float, right: float) -> MrzBlock:
    """The block with every line running from *left* to *right* (crop x, either may lie outside
    the crop), its crop widened from the source image where the strips' margins would leave it.

    For lines the locator measured short: glare or a worn edge can hide the first or last
    characters from the thresholding, though the recogniser, given the span, still reads them.
    A block without a source keeps its crop (the strips replicate its edge).
    """
    h, w = block.crop.shape
    reach = 0.08 * (right - left)  # the strips' margin (1.2 cells of at least 30) and more
    pad_left = max(0, int(np.ceil(reach - left)))
    pad_right = max(0, int(np.ceil(right + reach - (w - 1))))
    crop, to_crop = block.crop, block.to_crop
    if (pad_left or pad_right) and block.source is not None and block.to_crop is not None:
        to_crop = block.to_crop.copy()
        to_crop[0, 2] += pad_left
        crop = cv2.warpAffine(
            block.source, to_crop, (w + pad_left + pad_right, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        )
    else:
        pad_left = 0
    lines = tuple(
        TextLine(left + pad_left, right + pad_left, ln.slope, ln.intercept - ln.slope * pad_left, ln.height) for ln in block.lines
    )
    return MrzBlock(crop=crop, lines=lines, score=block.score, scale=block.scale, source=block.source, to_crop=to_crop)


STRIP_H = 32  # line recogniser input height
STRIP_X_PER_CELL = 12  # input columns per character cell: 3 output frames per cell
STRIP_FRAME_STRIDE = 4  # the recogniser emits one frame per 4 input columns
STRIP_MARGIN_CELLS = 1.2


@dataclass(frozen=True)
class StripSpan:
    """Where a block's lines are cut: x from *left* to *right* in the crop, *width* samples."""

    left: float
    right: float
    height: float
    width: int


def strip_span(block: MrzBlock, n_chars: int) -> StripSpan:
    """The span the block's lines are cut over, for lines of *n_chars* cells.

    All lines of an MRZ span the same cells, so they share one span: the widest measured, and a
    margin of more than a cell on each side. A line end mismeasured inwards (a first glyph merged
    into a watermark) is then still inside, and the recogniser, not the geometry, decides where
    the characters are. Columns are sampled at a fixed number per cell, so a line's frames per
    character do not depend on the print size.
    """
    left = min(ln.left for ln in block.lines)
    right = max(ln.right for ln in block.lines)
    pitch = max(right - left, 1.0) / n_chars
    margin = STRIP_MARGIN_CELLS * pitch
    cells = n_chars + 2 * STRIP_MARGIN_CELLS
    width = int(round(cells * STRIP_X_PER_CELL / STRIP_FRAME_STRIDE)) * STRIP_FRAME_STRIDE
    height = float(np.median([ln.height for ln in block.lines]))
    return StripSpan(left=left - margin, right=right + margin, height=max(height, 1.0), width=width)


def cut_strips(block: MrzBlock, n_chars: int, span: StripSpan | None = None) -> np.ndarray:
    """float32 [lines, 1, STRIP_H, W]: each text line straightened along its centre line, ink bright.

    The band is 1.6 glyph heights tall, sampled to STRIP_H rows, and centred on the line's ink:
    a centre line fitted a few pixels off (tight line spacing, a perspective the deskew left)
    would cut the glyphs' feet, and a serifed 'I' without its lower serif is a sure 'T'. Each
    strip is normalised against its local background (a box mean a few cells wide), so glare or
    shading along the line does not change how ink looks to the model.
    """
    span = span if span is not None else strip_span(block, n_chars)
    xs = span.left + (np.arange(span.width, dtype=np.float32) + 0.5) * np.float32((span.right - span.left) / span.width)
    band = 1.6 * span.height
    v = (np.arange(STRIP_H, dtype=np.float32) + 0.5) / STRIP_H - 0.5
    crop = block.crop.astype(np.float32)
    map_x = np.ascontiguousarray(np.broadcast_to(xs[None, :], (STRIP_H, span.width)), np.float32)

    def cut(slope: float, intercept: float) -> np.ndarray:
        map_y = np.ascontiguousarray((slope * xs + intercept)[None, :] + band * v[:, None], np.float32)
        strip = cv2.remap(crop, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return normalise_strip(strip)

    strips = []
    for line in block.lines:
        strip = cut(line.slope, line.intercept)
        rows = _ink_offset_rows(strip, (xs >= line.left) & (xs <= line.right))
        if rows:
            strip = cut(line.slope, line.intercept + rows * band / STRIP_H)
        strips.append(strip)
    return np.stack(strips)[:, None].astype(np.float32)


def _ink_offset_rows(strip: np.ndarray, inside: np.ndarray) -> float:
    """How many rows the line's ink sits below the strip's middle row (0 when it is less than 2.5
    rows off, more than a fifth of the strip off, or when the ink shows no clear run of rows).

    The glyphs fill about 1 / 1.6 of the band: the run of rows around the inkiest one whose ink
    stays above a third of it. A neighbouring line's glyphs at the band's edge are separated
    from it by the empty rows between the lines.
    """
    if inside.sum() < STRIP_X_PER_CELL:
        return 0.0
    profile = np.clip(strip[:, inside], 0, None).mean(axis=1)
    peak = int(np.argmax(profile))
    if profile[peak] <= 0:
        return 0.0
    on = profile >= profile[peak] / 3
    top, bottom = peak, peak
    while top > 0 and on[top - 1]:
        top -= 1
    while bottom < STRIP_H - 1 and on[bottom + 1]:
        bottom += 1
    if not 0.35 * STRIP_H <= bottom - top + 1 <= 0.85 * STRIP_H:
        return 0.0
    offset = (top + bottom) / 2 - (STRIP_H - 1) / 2
    return float(offset) if 2.5 <= abs(offset) <= 0.2 * STRIP_H else 0.0


def normalise_strip(strip: np.ndarray) -> np.ndarray:
    """Local background minus the pixel (ink bright), over the strip's contrast."""
    background = cv2.blur(strip, (6 * STRIP_X_PER_CELL + 1, 2 * STRIP_H + 1), borderType=cv2.BORDER_REPLICATE)
    ink = background - strip
    return ink / (float(ink.std()) + 8.0)
