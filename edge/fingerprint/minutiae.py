"""Minutiae from a ridge skeleton: crossing number, ridge tracing, false-minutia removal.

A ridge ending has crossing number 1, a bifurcation 3. Each candidate is traced a short way along
its ridge(s): the trace gives the minutia's direction sign and exposes the usual artefacts of
thinning (spurs, short fragments, bridges, broken ridges), which are dropped in pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .enhance import NEIGHBOURS, neighbour_code
from .ridges import RidgeField
from .template import BIFURCATION, ENDING


def _crossing_lut() -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    for code in range(256):
        p = [(code >> i) & 1 for i in range(8)]
        lut[code] = sum(abs(p[i] - p[(i + 1) % 8]) for i in range(8)) // 2
    return lut


_CROSSING = _crossing_lut()


@dataclass(frozen=True)
class MinutiaeParams:
    """Thresholds in units of the ridge period (so they hold at any resolution)."""

    trace_periods: float = 1.2  # how far each ridge is traced
    border_periods: float = 0.6  # minutiae closer than this to the foreground edge are dropped
    min_gap_periods: float = 0.6  # two minutiae closer than this are an artefact pair
    broken_periods: float = 1.8  # facing endings closer than this are one broken ridge
    min_coherence: float = 0.15


def _trace(skel: np.ndarray, cn: np.ndarray, y: int, x: int, sy: int, sx: int,
           max_len: int, blocked: set[tuple[int, int]]) -> tuple[int, int, int, bool]:
    """Follow the ridge from (y, x) through (sy, sx); returns the end, its length, hit-a-minutia."""
    h, w = skel.shape
    prev = {(y, x)} | blocked
    cy, cx = sy, sx
    length = 1
    while length < max_len:
        if cn[cy, cx] != 2:
            return cy, cx, length, True
        prev.add((cy, cx))
        nxt = None
        for dy, dx in NEIGHBOURS:
            ny, nx = cy + dy, cx + dx
            if 0 <= ny < h and 0 <= nx < w and skel[ny, nx] and (ny, nx) not in prev:
                nxt = (ny, nx)
                if dy == 0 or dx == 0:  # prefer 4-neighbours: diagonal shortcuts skip pixels
                    break
        if nxt is None:
            return cy, cx, length, False
        cy, cx = nxt
        length += 1
    return cy, cx, length, False


def _branch_starts(code: int) -> list[tuple[int, int]]:
    """One neighbour per run of set pixels around the ring (the branches leaving a pixel)."""
    bits = [(code >> i) & 1 for i in range(8)]
    starts = []
    for i in range(8):
        if bits[i] and not bits[i - 1]:
            # within a run prefer a 4-neighbour (even index) as the branch's first pixel
            j = i
            while bits[j % 8] and j < i + 8:
                if (j % 8) % 2 == 0:
                    break
                j += 1
            starts.append(NEIGHBOURS[j % 8] if bits[j % 8] else NEIGHBOURS[i])
    return starts


def _angle_diff(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
    return np.mod(np.asarray(a) - np.asarray(b) + np.pi, 2 * np.pi) - np.pi


def detect(skel: np.ndarray, field: RidgeField, params: MinutiaeParams | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(xy, angle, kind, quality) arrays of the minutiae kept on the skeleton."""
    params = params or MinutiaeParams()
    period = field.period_px
    code = neighbour_code(skel.astype(np.uint8))
    cn = np.where(skel, _CROSSING[code], 0).astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(field.mask.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    local_coh = cv2.blur(field.coherence, (9, 9))
    cand = ((cn == 1) | (cn == 3)) & (dist > params.border_periods * period) \
        & (local_coh > params.min_coherence)
    ys, xs = np.nonzero(cand)
    max_len = max(4, round(params.trace_periods * period))
    keep = np.ones(len(ys), bool)
    angles = np.zeros(len(ys), np.float32)
    kinds = np.where(cn[ys, xs] == 1, ENDING, BIFURCATION).astype(np.int8)
    index = {(int(y), int(x)): i for i, (y, x) in enumerate(zip(ys, xs))}
    for i, (y, x) in enumerate(zip(ys.tolist(), xs.tolist())):
        starts = _branch_starts(int(code[y, x]))
        if kinds[i] == ENDING:
            if len(starts) != 1:
                keep[i] = False
                continue
            dy, dx = starts[0]
            ey, ex, length, hit = _trace(skel, cn, y, x, y + dy, x + dx, max_len, set())
            if hit:  # spur or short fragment: both ends are artefacts
                keep[i] = False
                j = index.get((ey, ex))
                if j is not None:
                    keep[j] = False
                continue
            vy, vx = ey - y, ex - x
        else:
            if len(starts) != 3:
                keep[i] = False
                continue
            blocked = {(y + dy, x + dx) for dy, dx in starts}
            ends = []
            for dy, dx in starts:
                ey, ex, length, hit = _trace(skel, cn, y, x, y + dy, x + dx, max_len,
                                             blocked - {(y + dy, x + dx)})
                if hit and length < max_len // 2 + 1:
                    j = index.get((ey, ex))
                    if j is not None and kinds[j] == BIFURCATION:  # bridge or small hole
                        keep[j] = False
                        keep[i] = False
                ends.append(np.arctan2(ey - y, ex - x))
            if not keep[i]:
                continue
            e = np.array(ends)
            gaps = np.abs(_angle_diff(e[:, None], e[None, :]))
            pair_gap = [gaps[1, 2], gaps[0, 2], gaps[0, 1]]  # gap between the other two
            lone = int(np.argmin(pair_gap))
            vy, vx = -np.sin(e[lone]), -np.cos(e[lone])
        # orientation field gives the precise axis, the trace gives the sign
        axis = float(field.orientation[y, x])
        traced = float(np.arctan2(vy, vx))
        ang = axis if abs(_angle_diff(axis, traced)) < np.pi / 2 else axis + np.pi
        angles[i] = np.mod(ang, 2 * np.pi)
    xy = np.stack([xs, ys], axis=1).astype(np.float32)
    keep = _drop_close_pairs(xy, angles, kinds, keep, params, period)
    q = local_coh[ys, xs] * np.clip(dist[ys, xs] / (4 * period), 0.35, 1.0)
    quality = np.clip(np.round(100 * q), 1, 100).astype(np.uint8)
    return xy[keep], angles[keep], kinds[keep], quality[keep]


def _drop_close_pairs(xy: np.ndarray, angles: np.ndarray, kinds: np.ndarray, keep: np.ndarray,
                      params: MinutiaeParams, period: float) -> np.ndarray:
    idx = np.nonzero(keep)[0]
    if len(idx) < 2:
        return keep
    p = xy[idx]
    d = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    close = d < params.min_gap_periods * period
    # two endings facing each other across a short gap: a ridge broken by a crease or dryness
    a = angles[idx]
    facing = np.abs(np.abs(_angle_diff(a[:, None], a[None, :])) - np.pi) < np.pi / 4
    both_end = (kinds[idx][:, None] == ENDING) & (kinds[idx][None, :] == ENDING)
    link = np.arctan2(p[None, :, 1] - p[:, None, 1], p[None, :, 0] - p[:, None, 0])
    # ending i points into its ridge, so the gap lies behind it: link is opposite to a_i
    aligned = np.abs(np.abs(_angle_diff(link, a[:, None])) - np.pi) < np.pi / 4
    broken = both_end & facing & aligned & (d < params.broken_periods * period)
    bad = (close | broken).any(axis=1)
    out = keep.copy()
    out[idx[bad]] = False
    return out
