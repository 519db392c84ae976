"""Locating the MRZ and cutting its lines into strips (edge.mrz.locate), on clean synthetic pages (no model)."""

from __future__ import annotations

from datetime import date
from itertools import islice

import cv2
import numpy as np
import pytest

from edge.mrz import compose_td1, compose_td3
from edge.mrz.locate import (
    STRIP_FRAME_STRIDE,
    STRIP_H,
    STRIP_MARGIN_CELLS,
    STRIP_X_PER_CELL,
    MrzBlock,
    TextLine,
    _components,
    _cut_at_top_or_bottom,
    _extent,
    _group,
    _lines_in_crop,
    _pixel_of,
    aligned,
    block_variants,
    cut_strips,
    find_blocks,
    flipped,
    respanned,
    turned,
)
from edge.mrz.synth import font_paths, random_document, render_document

needs_font = pytest.mark.skipif(not font_paths(), reason="OCR-B font missing: apt-get install fonts-ocr-b")

# Line 2 starts with '7' and line 1 with 'I': glyphs whose centroid lies outside their ink,
# which once made the locator drop them and shift every cell of the line by one.
TD1 = compose_td1(
    document_code="I", issuing_state="UTO", document_number="D23145890", surname="ERIKSSON", given_names="ANNA MARIA",
    nationality="UTO", birth_date=date(1974, 8, 12), sex="F", expiry_date=date(2012, 4, 15),
)
TD3 = compose_td3(
    surname="SANTOSO", given_names="BUDI", document_number="71234567", nationality="IDN",
    birth_date=date(1985, 3, 14), sex="M", expiry_date=date(2030, 5, 1),
)


def _render(lines: tuple[str, ...], fmt: str, seed: int):
    return render_document(np.random.default_rng(seed), lines, fmt, pitch_px=(12, 16), max_angle_deg=2.0, full_rotation_p=0.0)


@needs_font
@pytest.mark.parametrize(("lines", "fmt"), [(TD1, "TD1"), (TD3, "TD3")])
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_every_line_of_the_block_spans_the_same_cells(lines: tuple[str, ...], fmt: str, seed: int) -> None:
    """All MRZ lines are equally long (fillers included): a line whose first glyph was lost
    would start about one pitch to the right of the others."""
    doc = _render(lines, fmt, seed)
    block = next(b for b in find_blocks(doc.image) if len(b.lines) == len(lines))
    pitch = np.mean([(ln.right - ln.left) / len(lines[0]) for ln in block.lines])
    lefts = [ln.left for ln in block.lines]
    rights = [ln.right for ln in block.lines]
    assert max(lefts) - min(lefts) < 0.5 * pitch
    assert max(rights) - min(rights) < 0.5 * pitch


@needs_font
def test_strips_are_one_batch_of_normalised_lines_at_a_fixed_sampling_per_cell() -> None:
    doc = _render(TD3, "TD3", 21)
    block = next(b for b in find_blocks(doc.image) if len(b.lines) == 2)
    strips = cut_strips(block, 44)
    width = round((44 + 2 * STRIP_MARGIN_CELLS) * STRIP_X_PER_CELL / STRIP_FRAME_STRIDE) * STRIP_FRAME_STRIDE
    assert strips.shape == (2, 1, STRIP_H, width) and strips.dtype == np.float32
    # ink (darker than the page) comes out bright, and the glyphs fill the middle of the band
    rows = strips[:, 0].mean(axis=2)
    middle = slice(STRIP_H // 3, 2 * STRIP_H // 3)
    assert np.all(rows[:, middle].mean(axis=1) > rows[:, :4].mean(axis=1) + 0.2)
    # the span holds every glyph: a margin with no ink on both sides
    cols = np.abs(strips[:, 0, middle]).mean(axis=(0, 1))
    assert cols[: STRIP_X_PER_CELL // 2].mean() < 0.5 * cols.mean() and cols[-STRIP_X_PER_CELL // 2 :].mean() < 0.5 * cols.mean()


def test_a_strip_follows_its_line_s_slope() -> None:
    """A line drawn at a slope comes out level, in the middle row of its strip."""
    crop = np.full((200, 800), 200, np.uint8)
    slope, intercept = 0.05, 60.0
    for x in range(100, 700):
        y = int(round(slope * x + intercept))
        crop[y - 1 : y + 2, x] = 20
    line = TextLine(left=100.0, right=700.0, slope=slope, intercept=intercept, height=20.0)
    strip = cut_strips(MrzBlock(crop=crop, lines=(line,), score=0.0), 30)[0, 0]
    inside = strip[:, 2 * STRIP_X_PER_CELL : -2 * STRIP_X_PER_CELL]
    assert np.all(np.abs(inside.argmax(axis=0) - (STRIP_H - 1) / 2) <= 1)


def test_a_blank_page_has_no_block() -> None:
    page = np.full((300, 500, 3), 220, np.uint8)
    assert list(find_blocks(page)) == []


def _line(left: float, right: float, y: float) -> TextLine:
    return TextLine(left=left, right=right, slope=0.0, intercept=y, height=28.0)


def test_agreeing_lines_are_kept_as_measured() -> None:
    lines = (_line(50, 1250, 100), _line(52, 1249, 160))
    assert aligned(lines) == [lines]


def test_a_line_that_lost_a_glyph_is_outvoted_by_the_other_two() -> None:
    lines = (_line(78, 1250, 100), _line(50, 1250, 160), _line(51, 1251, 220))  # pitch ~40: 28 px off
    (only,) = aligned(lines)
    assert [ln.left for ln in only] == [51, 50, 51]
    assert [ln.right for ln in only] == [1250, 1250, 1251]


def test_two_disagreeing_lines_are_never_offered_as_measured() -> None:
    """One of them is a cell off; a names line a whole cell off reads as confident, wrong letters."""
    lines = (_line(78, 1250, 100), _line(50, 1250, 160))
    variants = aligned(lines)
    assert lines not in variants
    assert all(len({round(ln.left) for ln in v}) == 1 for v in variants)
    assert {v[0].left for v in variants} == {78, 50}


def test_a_line_cut_short_at_one_end_still_makes_a_block_with_its_neighbour() -> None:
    """A stamp over the start of the first line (the Qatar specimen's "SPECIMEN") breaks its
    glyphs there: the line is found from the stamp's edge on, and ends where the next one ends."""
    stamped, whole = _line(400, 1250, 100), _line(50, 1250, 160)
    assert (stamped, whole) in _group([stamped, whole])
    (only,) = block_variants((stamped, whole))
    assert [(ln.left, ln.right) for ln in only] == [(50, 1250), (50, 1250)]
    assert [ln.intercept for ln in only] == [100, 160]


def test_lines_that_share_no_end_or_are_short_make_no_block() -> None:
    assert _group([_line(50, 800, 100), _line(400, 1250, 160)]) == []  # overlapping, no end shared
    assert _group([_line(1000, 1250, 100), _line(50, 1250, 160)]) == []  # a fifth of the other
    assert _group([_line(50, 1250, 100), _line(50, 1250, 400)]) == []  # too far apart


def test_lines_agreeing_at_both_ends_come_before_those_agreeing_at_one() -> None:
    top, middle, bottom = _line(50, 1250, 100), _line(52, 1249, 160), _line(600, 1250, 220)
    groups = _group([top, middle, bottom])
    assert groups[0] == (top, middle)
    assert (middle, bottom) in groups[1:]
    assert block_variants(groups[0]) == aligned(groups[0])


@pytest.mark.parametrize(
    ("line", "cut"),
    [
        (TextLine(100, 700, 0.0, 154.0, 28.0), False),
        (TextLine(100, 700, 0.0, 295.0, 28.0), True),  # a glyph's lower half is below the crop
        (TextLine(100, 700, 0.0, 12.0, 28.0), True),
        (TextLine(100, 700, 0.25, 130.0, 28.0), True),  # level at its start, past the bottom at its end
    ],
)
def test_a_line_whose_band_leaves_the_crop_is_cut(line: TextLine, cut: bool) -> None:
    """Border fill makes a cut 'N' read as a sure 'U', and a names line has no check digit."""
    assert _cut_at_top_or_bottom((line,), 308) is cut


@needs_font
@pytest.mark.parametrize("seed", [700009, 700024, 700052])
def test_a_block_is_never_read_from_a_crop_that_cuts_a_line_at_the_top_or_bottom(seed: int) -> None:
    """Renders whose first crop cuts the TD1's first or last line (the seed line was at the
    block's edge): the block comes from a crop centred on it instead."""
    doc = random_document(np.random.default_rng(seed))
    blocks = list(find_blocks(doc.image))
    assert any(len(b.lines) == len(doc.lines) for b in blocks)
    for block in blocks:
        assert not _cut_at_top_or_bottom(block.lines, block.crop.shape[0])


def test_the_band_is_centred_on_the_line_s_ink_when_its_centre_line_is_off() -> None:
    """A centre line fitted 4 px low would cut the glyphs' tops (and a serifed 'I' without its
    lower serif reads as a sure 'T'): the band follows the ink instead."""
    crop = np.full((200, 800), 200, np.uint8)
    for x in range(100, 700, 20):
        crop[50:70, x + 3 : x + 15] = 30  # glyphs 20 px tall, centred on y = 60
    off = TextLine(left=103.0, right=695.0, slope=0.0, intercept=64.0, height=20.0)
    strip = cut_strips(MrzBlock(crop=crop, lines=(off,), score=0.0), 30)[0, 0]
    ink_rows = np.nonzero(strip.mean(axis=1) > 0.5 * strip.mean(axis=1).max())[0]
    assert abs((ink_rows[0] + ink_rows[-1]) / 2 - (STRIP_H - 1) / 2) <= 1.0


def test_a_line_beside_the_block_does_not_split_it() -> None:
    """Border fill at a crop's side makes streaks that the locator takes for lines; one of them
    between the MRZ lines' heights must not keep them apart."""
    top, streak, bottom = _line(640, 1750, 120), _line(0, 400, 150), _line(641, 1748, 170)
    assert _group([top, streak, bottom])[0] == (top, bottom)


@needs_font
def test_a_page_at_an_oblique_angle_on_a_textured_table_is_found_on_the_image_turned_by_135_degrees() -> None:
    """A small TD1 at about 150 degrees (upside down and oblique) on a coarse background. Before
    the locator tried several glyph heights, the search on the image as it is and turned by 90
    degrees found no three-line block here; turned by 135 degrees, the lines are level."""
    doc = random_document(np.random.default_rng(700512))
    assert any(len(b.lines) == 3 for b in islice(find_blocks(doc.image, turn=135), 12))


def test_an_image_turned_by_45_degrees_keeps_all_of_it_on_a_flat_fill() -> None:
    gray = np.full((100, 300), 200, np.uint8)
    gray[40:60, 20:280] = 20
    out = turned(gray, 45)
    side = int(np.ceil(400 / np.sqrt(2)))
    assert out.shape == (side, side)
    assert out[0, 0] == out[-1, -1] == 200  # the median, not replicated edge pixels
    assert (out < 100).sum() == pytest.approx((gray < 100).sum(), rel=0.1)  # the whole bar is there
    assert np.array_equal(turned(gray, 90), np.rot90(gray, -1))


def test_a_line_a_stroke_broke_into_pieces_is_joined_again() -> None:
    """A guilloche stroke across the first line merges with the glyphs under it into a blob too
    tall to be a glyph: the line falls apart into two pieces, each shorter than a line. Joined
    again only where ink crosses the gap: white space there is the end of a line."""
    crop = np.full((308, 900), 200, np.uint8)
    for y in (86, 146, 206):
        for x in range(50, 850, 20):
            crop[y : y + 28, x : x + 12] = 30
    crop[60:140, 400:440] = 30  # the stroke, across the first line only
    plain = _lines_in_crop(crop, 600)
    joined = _lines_in_crop(crop, 600, rejoin=True)
    assert len(plain) == 2 and min(ln.intercept for ln in plain) > 140
    assert len(joined) == 3
    first = min(joined, key=lambda ln: ln.intercept)
    assert first.left <= 60 and first.right >= 840

    crop[60:140, 400:440] = 200  # white space instead: the end of a line, not a break
    crop[86:114, 380:460] = 200
    assert len(_lines_in_crop(crop, 600, rejoin=True)) == 2


def _source_and_block() -> tuple[np.ndarray, MrzBlock]:
    """A source whose grey level is its x (mod 256) and a block cut from it by a shift of 100."""
    source = np.tile((np.arange(400) % 256).astype(np.uint8), (120, 1))
    to_crop = np.array([[1.0, 0.0, -100.0], [0.0, 1.0, -10.0]])
    crop = source[10:110, 100:300].copy()
    line = TextLine(left=20.0, right=180.0, slope=0.01, intercept=50.0, height=10.0)
    return source, MrzBlock(crop=crop, lines=(line,), score=1.0, source=source, to_crop=to_crop)


def test_a_block_respanned_past_its_crop_is_cut_again_from_the_source() -> None:
    """The widened crop holds the source's pixels where the old one ended, and the line still
    runs through the same source pixels: only the crop's origin moved."""
    source, block = _source_and_block()
    wide = respanned(block, -60.0, 180.0)
    line = wide.lines[0]
    pad = line.left + 60.0  # how far the crop grew to the left
    assert pad > 60.0 and wide.crop.shape[0] == block.crop.shape[0]
    assert wide.crop[0, 0] == 100 - pad  # source column 100 - pad, as the grey level says
    assert wide.crop[0, int(round(line.left))] == 40  # the new left end: source x 100 - 60
    # the centre line keeps its source rows: y at the old x is y at the new x
    old = block.lines[0]
    assert line.intercept + line.slope * (30.0 + pad) == pytest.approx(old.intercept + old.slope * 30.0)
    assert np.array_equal(cv2.warpAffine(source, wide.to_crop, wide.crop.shape[::-1]), wide.crop)


def test_a_respanned_block_inside_its_crop_or_without_a_source_keeps_its_crop() -> None:
    _, block = _source_and_block()
    inside = respanned(block, 40.0, 150.0)
    assert inside.crop is block.crop and (inside.lines[0].left, inside.lines[0].right) == (40.0, 150.0)
    loose = MrzBlock(crop=block.crop, lines=block.lines, score=1.0)
    assert respanned(loose, -60.0, 180.0).crop is block.crop


def test_a_flipped_block_keeps_the_matrix_that_cuts_it_from_the_source() -> None:
    source, block = _source_and_block()
    upside_down = flipped(block)
    assert np.array_equal(cv2.warpAffine(source, upside_down.to_crop, upside_down.crop.shape[::-1]), upside_down.crop)


def test_a_components_first_top_row_pixel_is_found_wherever_it_lies_in_its_box() -> None:
    """Near the box's left edge (searched at once) and far from it: a wedge whose top row starts
    80 columns in, as a run of merged fillers' does at the first filler's tip."""
    mask = np.zeros((40, 200), np.uint8)
    mask[5:15, 10:20] = 255  # a square: its top row starts at its left edge
    for y in range(20, 36):  # a wedge widening downwards: top row at x 90, box from x 30
        mask[y, 90 - 4 * (y - 20) : 100] = 255
    mask[2, 150:152] = 255
    mask[3:30, 140:160] = 255
    _, labels, stats, _ = _components(mask)
    ids = np.arange(1, stats.shape[0])
    ys, xs = _pixel_of(labels, stats, ids)
    whole_rows = np.argmax(labels[ys] == ids[:, None], axis=1)  # the plain search of whole rows
    assert np.array_equal(xs, whole_rows) and np.all(labels[ys, xs] == ids)
    assert sorted(zip(ys.tolist(), xs.tolist())) == [(2, 150), (5, 10), (20, 90)]


def test_more_components_than_16_bit_labels_hold_are_labelled_with_32_bits() -> None:
    mask = np.zeros((600, 600), np.uint8)
    mask[::2, ::2] = 255  # 90,000 isolated pixels, 8-connected to none
    count, labels, stats, _ = _components(mask)
    assert count == 90_001 and labels.dtype == np.int32 and labels[598, 598] == 90_000
    small_count, small_labels, small_stats, _ = _components(mask[:100, :100])
    assert small_count == 2_501 and small_labels.dtype == np.uint16
    assert np.array_equal(small_stats, cv2.connectedComponentsWithStats(mask[:100, :100], connectivity=8)[2])


def test_a_line_extent_is_its_longest_run_without_a_wide_gap() -> None:
    """Runs split where white space is wider than 0.85 of a glyph height; the longest run wins,
    the first of equally long ones."""
    def stats_of(boxes: list[tuple[int, int]]) -> np.ndarray:  # (left, width) of 20 px tall glyphs
        out = np.zeros((len(boxes) + 1, 5), np.int32)
        for i, (left, width) in enumerate(boxes, 1):
            out[i] = (left, 0, width, 20, width * 20)
        return out

    run_a = [(10 + 14 * i, 10) for i in range(4)]  # 4 glyphs, then a 40 px gap
    run_b = [(110 + 14 * i, 10) for i in range(6)]  # 6 glyphs
    stats = stats_of(run_a + run_b)
    members = np.arange(1, stats.shape[0])
    xs = stats[members, 0] + 5.0
    assert _extent(members, stats, xs, 20.0) == (110.0, 110.0 + 14 * 5 + 10)
    tied = stats_of(run_a + [(110 + 14 * i, 10) for i in range(4)])
    members = np.arange(1, tied.shape[0])
    assert _extent(members, tied, tied[members, 0] + 5.0, 20.0) == (10.0, 10.0 + 14 * 3 + 10)


@needs_font
@pytest.mark.parametrize(("lines", "fmt"), [(TD1, "TD1"), (TD3, "TD3")])
@pytest.mark.parametrize("seed", [21, 22])
def test_a_render_reports_the_pitch_its_mrz_has_in_the_image(lines: tuple[str, ...], fmt: str, seed: int) -> None:
    """The benchmark sorts renders by print size: the pitch a render reports is the one its
    located lines measure in the image, not the one the page was printed at."""
    doc = _render(lines, fmt, seed)
    block = next(b for b in find_blocks(doc.image) if len(b.lines) == len(lines))
    line = block.lines[0]
    measured = (line.right - line.left) / block.scale / (len(lines[0]) - 0.3)  # the last glyph's right bearing
    assert doc.pitch_px == pytest.approx(measured, rel=0.06)
