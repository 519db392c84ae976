"""Minutia Cylinder-Code (MCC) local descriptors and the LSS-R matcher with global relaxation.

After Cappelli, Ferrara and Maltoni, "Minutia Cylinder-Code: a new representation and matching
technique for fingerprint recognition", IEEE TPAMI 32(12), 2010. Every minutia gets a cylinder:
an Ns x Ns x Nd grid, aligned with the minutia, of the smoothed density of its neighbours by
position and relative direction. Two templates are compared by the similarity of all cylinder
pairs (three matrix products), the top pairs are consolidated by relaxation on their mutual
geometric compatibility (so a set of locally similar but globally inconsistent pairs, typical of
impostors, loses its weight), and the score is the mean relaxed similarity of the most efficient
pairs. Scores are in [0, 1]. Everything is vectorised numpy; no template-size Python loops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .template import Template


@dataclass(frozen=True)
class MccParams:
    radius: float = 70.0  # R, pixels at 500 ppi
    ns: int = 16  # spatial cells per side
    nd: int = 6  # direction sections
    sigma_s: float = 28.0 / 3.0
    sigma_d: float = 2.0 * np.pi / 9.0
    mu_psi: float = 0.01
    tau_psi: float = 400.0
    hull_offset: float = 50.0  # omega: how far outside the minutiae hull a cell still counts
    min_valid_cells: float = 0.75  # of the cells inside the radius
    min_neighbours: int = 2
    min_matchable: float = 0.6  # of the cells inside the radius, valid in both cylinders
    max_angle: float = np.pi / 2  # cylinders of minutiae turned further apart never match
    # LSS-R consolidation
    min_np: int = 4
    max_np: int = 12
    mu_p: float = 20.0
    tau_p: float = 0.4
    w_r: float = 0.5
    n_rel: int = 5
    mu_1: float = 5.0
    tau_1: float = -1.6
    mu_2: float = np.pi / 12
    tau_2: float = -30.0
    mu_3: float = np.pi / 12
    tau_3: float = -30.0
    # global consolidation: minutiae paired after the best rigid alignment of the top pairs
    global_weight: float = 0.15  # the local score is on a smaller scale than the paired fraction
    n_seeds: int = 5
    pair_distance: float = 15.0
    pair_angle: float = np.pi / 8

    @property
    def mu_vec(self) -> np.ndarray:
        return np.array([self.mu_1, self.mu_2, self.mu_3])[:, None, None]

    @property
    def tau_vec(self) -> np.ndarray:
        return np.array([self.tau_1, self.tau_2, self.tau_3])[:, None, None]


DEFAULT = MccParams()


@dataclass(frozen=True, eq=False)
class Cylinders:
    """The MCC descriptors of one template, only for its valid cylinders."""

    values: np.ndarray  # (n, ns*ns*nd) float32, zero in invalid cells
    squares: np.ndarray  # (n, ns*ns) float32: sum over directions of values**2 per cell
    valid: np.ndarray  # (n, ns*ns) float32 0/1
    xy: np.ndarray  # (n, 2) float32
    angle: np.ndarray  # (n,) float32

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def z(self) -> np.ndarray:
        """Positions as complex numbers x + iy (complex128, cached)."""
        return self._complex()[0]

    @property
    def u(self) -> np.ndarray:
        """Directions as unit complex numbers (complex128, cached)."""
        return self._complex()[1]

    def stacked(self, first: str, second: str) -> np.ndarray:
        """Rows of two per-cell arrays one above the other (cached): lets one product do three."""
        key = f"_stack_{first}_{second}"
        cached = self.__dict__.get(key)
        if cached is None:
            cached = np.concatenate([getattr(self, first), getattr(self, second)])
            object.__setattr__(self, key, cached)
        return cached

    def _complex(self) -> tuple[np.ndarray, np.ndarray]:
        cached = self.__dict__.get("_zu")
        if cached is None:
            xy = self.xy.astype(np.float64)
            cached = (xy[:, 0] + 1j * xy[:, 1], np.exp(1j * self.angle.astype(np.float64)))
            object.__setattr__(self, "_zu", cached)
        return cached


def _angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mod(a - b + np.pi, 2 * np.pi) - np.pi


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); numpy has no erf and scipy is not a dependency
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def _sigmoid(v: np.ndarray | float, mu: float, tau: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-tau * (np.asarray(v, dtype=np.float64) - mu)))


def _hull_distance(xy: np.ndarray, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Distance (pixels) from each of *points* to the convex hull of *xy* (0 inside)."""
    if len(xy) < 3:
        return np.zeros(len(points), np.float32)
    step = 4.0  # a coarse raster is plenty: the offset is 50 px
    pad = 80.0
    ox, oy = -pad, -pad
    gw = int(np.ceil((width + 2 * pad) / step)) + 1
    gh = int(np.ceil((height + 2 * pad) / step)) + 1
    hull = cv2.convexHull(((xy - [ox, oy]) / step).astype(np.float32)).astype(np.int32)
    raster = np.ones((gh, gw), np.uint8)
    cv2.fillConvexPoly(raster, hull, 0)
    dist = cv2.distanceTransform(raster, cv2.DIST_L2, 3) * step
    gx = np.clip(np.round((points[:, 0] - ox) / step).astype(np.int64), 0, gw - 1)
    gy = np.clip(np.round((points[:, 1] - oy) / step).astype(np.int64), 0, gh - 1)
    out = dist[gy, gx]
    outside = ((points[:, 0] - ox) < 0) | ((points[:, 1] - oy) < 0) \
        | ((points[:, 0] - ox) / step > gw - 1) | ((points[:, 1] - oy) / step > gh - 1)
    out[outside] = np.inf
    return out


def cylinders(template: Template, p: MccParams = DEFAULT) -> Cylinders:
    """MCC descriptors of a template (cached on the template: they cost a few ms)."""
    key = ("mcc", p)
    cached = template._cache.get(key)
    if cached is not None:
        return cached
    xy = template.xy.astype(np.float64)
    ang = template.angle.astype(np.float64)
    n = len(xy)
    ncell = p.ns * p.ns
    if n == 0:
        empty = np.zeros((0, ncell * p.nd), np.float32)
        cyl = Cylinders(empty, np.zeros((0, ncell), np.float32), np.zeros((0, ncell), np.float32),
                        np.zeros((0, 2), np.float32), np.zeros(0, np.float32))
        template._cache[key] = cyl
        return cyl
    delta_s = 2 * p.radius / p.ns
    delta_d = 2 * np.pi / p.nd
    off = (np.arange(p.ns) - (p.ns - 1) / 2.0) * delta_s
    oi, oj = np.meshgrid(off, off, indexing="xy")  # oi along the minutia, oj across it
    cos, sin = np.cos(ang)[:, None], np.sin(ang)[:, None]
    oi, oj = oi.reshape(1, -1), oj.reshape(1, -1)
    cx = xy[:, 0:1] + oi * cos - oj * sin
    cy = xy[:, 1:2] + oi * sin + oj * cos  # (n, cells)
    in_circle = (oi * oi + oj * oj <= p.radius * p.radius).reshape(-1)
    hull_d = _hull_distance(template.xy, np.stack([cx.ravel(), cy.ravel()], 1),
                            template.width, template.height).reshape(n, ncell)
    valid = in_circle[None, :] & (hull_d <= p.hull_offset)
    # spatial contribution of each neighbour t to each cell of each minutia m
    dx = cx[:, :, None] - xy[None, None, :, 0]
    dy = cy[:, :, None] - xy[None, None, :, 1]
    cs = np.exp(-(dx * dx + dy * dy) / (2 * p.sigma_s ** 2)) / (p.sigma_s * np.sqrt(2 * np.pi))
    pair_d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    near = (pair_d <= p.radius + 3 * p.sigma_s)
    np.fill_diagonal(near, False)
    cs *= near[:, None, :]
    # directional contribution: the neighbour's direction relative to m, against each section
    d_theta = _angle_diff(ang[:, None], ang[None, :])  # (m, t)
    centres = -np.pi + (np.arange(p.nd) + 0.5) * delta_d
    alpha = _angle_diff(centres[None, None, :], d_theta[:, :, None])  # (m, t, k)
    scale = 1.0 / (p.sigma_d * np.sqrt(2.0))
    cd = 0.5 * (_erf((alpha + delta_d / 2) * scale) - _erf((alpha - delta_d / 2) * scale))
    raw = np.einsum("mct,mtk->mck", cs, cd)
    values = _sigmoid(raw, p.mu_psi, p.tau_psi) * valid[:, :, None]
    neighbours = (near & (pair_d <= p.radius)).sum(1)
    ok = (valid.sum(1) >= p.min_valid_cells * in_circle.sum()) & (neighbours >= p.min_neighbours)
    values = values[ok].astype(np.float32)
    cyl = Cylinders(
        values=values.reshape(int(ok.sum()), ncell * p.nd),
        squares=(values * values).sum(-1),
        valid=valid[ok].astype(np.float32),
        xy=template.xy[ok],
        angle=template.angle[ok],
    )
    template._cache[key] = cyl
    return cyl


def local_similarity(a: Cylinders, b: Cylinders, p: MccParams = DEFAULT) -> np.ndarray:
    """(len(a), len(b)) cylinder similarities in [0, 1] over the cells valid in both."""
    n, m = len(a), len(b)
    # one product gives |c_a on b's valid cells|^2, |c_b on a's valid cells|^2 and the common cells
    blocks = a.stacked("squares", "valid") @ b.stacked("valid", "squares").T
    a2, common, b2 = blocks[:n, :m], blocks[n:, :m], blocks[n:, m:]
    ab = a.values @ b.values.T
    norm = np.sqrt(a2) + np.sqrt(b2)
    dist = np.sqrt(np.maximum(a2 + b2 - 2 * ab, 0.0))
    sim = 1.0 - dist / np.where(norm > 0, norm, 1.0)
    matchable = common >= p.min_matchable * (np.pi / 4) * p.ns * p.ns
    turned = (a.u[:, None] * np.conj(b.u)[None, :]).real >= math.cos(p.max_angle)
    return np.where(matchable & turned & (norm > 0), sim, 0.0).astype(np.float32)


def _assign(sim: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one pairs of highest similarity (LSA without the Hungarian cost)."""
    nb = sim.shape[1]
    flat = sim.ravel()
    rows: list[int] = []
    cols: list[int] = []
    used_a: set[int] = set()
    used_b: set[int] = set()
    # the best few n candidates usually suffice; the full sort runs only when they do not
    m = min(flat.size, 6 * n)
    head = np.argpartition(-flat, m - 1)[:m] if m < flat.size else np.arange(flat.size)
    passes = [head[np.argsort(-flat[head], kind="stable")]]
    if m < flat.size:
        passes.append(None)
    for order in passes:
        if order is None:
            if len(rows) == n:
                break
            order = np.argsort(-flat, kind="stable")
        for k in order[flat[order] > 0].tolist():
            i, j = divmod(k, nb)
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            rows.append(i)
            cols.append(j)
            if len(rows) == n:
                break
    return np.asarray(rows, np.int64), np.asarray(cols, np.int64)


def score_cylinders(a: Cylinders, b: Cylinders, p: MccParams = DEFAULT) -> float:
    """LSS-R score of two cylinder sets, in [0, 1]."""
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return 0.0
    sim = local_similarity(a, b, p)
    n_p = p.min_np + round((p.max_np - p.min_np) / (1.0 + math.exp(-p.tau_p * (min(na, nb) - p.mu_p))))
    ia, ib = _assign(sim, min(na, nb))
    if len(ia) == 0:
        return 0.0
    lam0 = sim[ia, ib].astype(np.float64)
    if len(ia) == 1:
        return float(lam0[0]) / max(n_p, 1)
    # pairwise compatibility (Cappelli's rho) in complex form: for selected pairs i and k, the
    # distance gap, the gap in relative direction and the gap in radial angle between a and b
    da = a.z[ia][None, :] - a.z[ia][:, None]  # (i, k): from minutia i to minutia k in a
    db = b.z[ib][None, :] - b.z[ib][:, None]
    rot = a.u[ia] * np.conj(b.u[ib])  # each pair's own rotation from b to a
    gaps = np.stack([np.abs(np.abs(da) - np.abs(db)),
                     np.abs(np.angle(rot[:, None] * np.conj(rot)[None, :])),
                     np.abs(np.angle(rot[:, None] * np.conj(da) * db))])
    rho = _sigmoid(gaps, p.mu_vec, p.tau_vec).prod(0)
    np.fill_diagonal(rho, 0.0)
    # n_rel relaxation steps are one fixed linear map: lam <- (w I + (1 - w) rho / k) lam
    k = len(lam0) - 1
    step = (1 - p.w_r) / k * rho
    step[np.diag_indices_from(step)] += p.w_r
    lam = np.linalg.matrix_power(step, p.n_rel) @ lam0
    efficiency = lam / lam0
    best = np.argsort(-efficiency)[: min(n_p, len(lam))]
    local = float(lam[best].sum() / n_p)
    if p.global_weight <= 0:
        return local
    seeds = np.argsort(-lam)[: p.n_seeds]
    paired = _paired_after_alignment(a, b, ia[seeds], ib[seeds], p)
    overlap = float(np.sqrt(na * nb))
    return (1 - p.global_weight) * local + p.global_weight * min(1.0, paired / overlap) ** 2


def _paired_after_alignment(a: Cylinders, b: Cylinders, ia: np.ndarray, ib: np.ndarray,
                            p: MccParams) -> int:
    """Most minutiae paired one-to-one under any of the rigid alignments the seed pairs give."""
    if len(ia) == 0:
        return 0
    # complex positions and unit directions: one multiplication rotates, one subtraction shifts
    za, zb = a.z, b.z
    turn = b.u[ib] * np.conj(a.u[ia])  # (s,) rotation taking each seed of a onto its partner
    moved = (za[None, :] - za[ia][:, None]) * turn[:, None] + zb[ib][:, None]  # (s, na)
    diff = moved[:, :, None] - zb[None, None, :]
    d2 = diff.real ** 2 + diff.imag ** 2
    # cos of the angle between the turned direction of a and the direction of b
    cos_turn = ((a.u[None, :] * turn[:, None])[:, :, None] * np.conj(b.u)[None, None, :]).real
    cost = np.where((d2 <= p.pair_distance ** 2) & (cos_turn >= math.cos(p.pair_angle)), d2, np.inf)
    # one-to-one: each minutia of a takes its nearest admissible partner, duplicates count once
    nearest = np.argmin(cost, axis=2)  # (s, na)
    has = np.isfinite(cost.min(axis=2))
    codes = np.unique((np.arange(len(ia))[:, None] * len(zb) + nearest)[has])
    return int(np.bincount(codes // len(zb)).max()) if len(codes) else 0


def match(a: Template, b: Template, p: MccParams = DEFAULT) -> float:
    """Similarity of two templates in [0, 1]: MCC local similarities, LSS-R consolidation."""
    return score_cylinders(cylinders(a, p), cylinders(b, p), p)
