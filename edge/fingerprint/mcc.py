"""Minutia Cylinder-Code (MCC) local descriptors and the LSS-R matcher with global relaxation.

After Cappelli, Ferrara and Maltoni, "Minutia Cylinder-Code: a new representation and matching
technique for fingerprint recognition", IEEE TPAMI 32(12), 2010. Every minutia gets a cylinder:
an Ns x Ns x Nd grid, aligned with the minutia, of the smoothed density of its neighbours by
position and relative direction. Two templates are compared by the similarity of all cylinder
pairs (three matrix products), the top pairs are consolidated by relaxation on their mutual
geometric compatibility (so a set of locally similar but globally inconsistent pairs, typical of
impostors, loses its weight), and the score is the mean relaxed similarity of the most efficient
pairs. Scores are in [0, 1]. Everything is vectorised numpy; the only Python loop runs over at most 256
leftover cells of the pairing.
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
    # a match costs about n * m; a cap keeps the cylinders of highest minutia quality. Off: capped
    # at 40, the FVC2002 error rates stay the same but the calibrated threshold moves (RESULTS.md)
    max_cylinders: int = 0  # 0: no cap
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
    """The MCC descriptors of one template, only for its valid cylinders.

    Cells outside the cylinder's circle are never valid, so they are not stored: the products
    that compare two templates then skip a fifth of the work.
    """

    values: np.ndarray  # (n, cells*nd) float32 over the cells inside the circle, zero in invalid cells
    squares: np.ndarray  # (n, cells) float32: sum over directions of values**2 per cell
    valid: np.ndarray  # (n, cells) float32 0/1
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
        return self._cached(f"_stack_{first}_{second}",
                            lambda: np.concatenate([getattr(self, first), getattr(self, second)]))

    def stacked_t(self, first: str, second: str) -> np.ndarray:
        """``stacked(first, second)`` transposed and contiguous (cached)."""
        return self._cached(f"_stack_t_{first}_{second}",
                            lambda: np.ascontiguousarray(self.stacked(first, second).T))

    @property
    def planar(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """x, y, cos(angle), sin(angle) as float32 (cached): the global pairing's inputs."""
        return self._cached("_planar", lambda: (
            self.xy[:, 0].astype(np.float32), self.xy[:, 1].astype(np.float32),
            np.cos(self.angle).astype(np.float32), np.sin(self.angle).astype(np.float32)))

    @property
    def pairing_rows(self) -> np.ndarray:
        """(6, n) float32 (cached): [-2x, -2y, 1, x^2 + y^2, cos, sin]. A point's row
        [px, py, px^2 + py^2, 1, 0, 0] times it gives squared distances to every minutia, a
        direction's row [0, 0, 0, 0, cos, sin] the cosines of the angles to theirs."""
        def make() -> np.ndarray:
            x, y, c, s = self.planar
            return np.stack([-2 * x, -2 * y, np.ones_like(x), x * x + y * y, c, s])
        return self._cached("_pairing_rows", make)

    def _cached(self, key: str, make):
        value = self.__dict__.get(key)
        if value is None:
            value = make()
            object.__setattr__(self, key, value)
        return value

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


def _one_plus_exp(v: np.ndarray, mu: float, tau: float) -> np.ndarray:
    """1 + exp(-tau (v - mu)): the reciprocal of the sigmoid, exponent capped at 60."""
    z = v - mu
    z *= -tau
    np.minimum(z, 60.0, out=z)
    np.exp(z, out=z)
    z += 1.0
    return z


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


def _circle_cells(p: MccParams) -> int:
    off = (np.arange(p.ns) - (p.ns - 1) / 2.0) * (2 * p.radius / p.ns)
    return int((off[:, None] ** 2 + off[None, :] ** 2 <= p.radius * p.radius).sum())


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
        inside = _circle_cells(p)
        empty = np.zeros((0, inside * p.nd), np.float32)
        cyl = Cylinders(empty, np.zeros((0, inside), np.float32), np.zeros((0, inside), np.float32),
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
    if p.max_cylinders and ok.sum() > p.max_cylinders:
        rank = np.argsort(-template.quality.astype(np.int32) - 1000 * ok, kind="stable")
        ok = np.zeros_like(ok)
        ok[rank[: p.max_cylinders]] = True
    values = values[ok][:, in_circle].astype(np.float32)
    cyl = Cylinders(
        values=values.reshape(int(ok.sum()), int(in_circle.sum()) * p.nd),
        squares=(values * values).sum(-1),
        valid=valid[ok][:, in_circle].astype(np.float32),
        xy=template.xy[ok],
        angle=template.angle[ok],
    )
    template._cache[key] = cyl
    return cyl


def local_similarity(a: Cylinders, b: Cylinders, p: MccParams = DEFAULT) -> np.ndarray:
    """(len(a), len(b)) cylinder similarities in [0, 1] over the cells valid in both."""
    n, m = len(a), len(b)
    # one product gives |c_a on b's valid cells|^2, |c_b on a's valid cells|^2 and the common cells
    blocks = a.stacked("squares", "valid") @ b.stacked_t("valid", "squares")
    a2, common, b2 = blocks[:n, :m], blocks[n:, :m], blocks[n:, m:]
    # values.T, not a cached transposed copy: a gallery would hold every template twice
    ab = a.values @ b.values.T
    norm = np.sqrt(a2)
    norm += np.sqrt(b2)
    dist = a2 + b2
    dist -= 2 * ab
    np.maximum(dist, 0.0, out=dist)
    np.sqrt(dist, out=dist)
    ok = common >= p.min_matchable * (np.pi / 4) * p.ns * p.ns
    ok &= (a.u[:, None] * np.conj(b.u)[None, :]).real >= math.cos(p.max_angle)
    ok &= norm > 0
    sim = 1.0 - dist / np.where(norm > 0, norm, 1.0)
    sim[~ok] = 0.0
    return sim.astype(np.float32, copy=False)


def _assign(sim: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one pairs of highest similarity (LSA without the Hungarian cost).

    Greedy by decreasing similarity takes every pair that is the best of both its row and its
    column among what is left (only a higher cell in its row or column could block it, and there
    is none), so whole-matrix rounds of mutual bests take most pairs at once. Pairs come out best
    first.
    """
    work = np.maximum(sim, 0.0)
    na = work.shape[0]
    idx = np.arange(na)
    rows: list[int] = []
    cols: list[int] = []
    while len(rows) < n:
        best_col = work.argmax(1)
        mutual = work.argmax(0)[best_col] == idx
        mutual &= work[idx, best_col] > 0
        r = idx[mutual]
        if len(r) == 0:
            break
        c = best_col[mutual]
        rows += r.tolist()
        cols += c.tolist()
        work[r, :] = 0.0
        work[:, c] = 0.0
        if len(r) > 2:
            continue
        # a chain, where each round adds one or two pairs: once few cells are left, a loop in
        # greedy order over them is cheaper than more rounds
        flat = work.ravel()
        left = np.flatnonzero(flat)
        if len(left) <= 256:
            nb = work.shape[1]
            used_a, used_b = set(rows), set(cols)
            for k in left[np.argsort(-flat[left], kind="stable")].tolist():
                if len(rows) >= n:
                    break
                i, j = divmod(k, nb)
                if i in used_a or j in used_b:
                    continue
                used_a.add(i)
                used_b.add(j)
                rows.append(i)
                cols.append(j)
            break
    ia = np.asarray(rows, np.int64)
    ib = np.asarray(cols, np.int64)
    order = np.argsort(-sim[ia, ib], kind="stable")[:n]
    return ia[order], ib[order]


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
    # rho is the product of three sigmoids: one reciprocal of the product of (1 + e^-z); the
    # exponents are capped where the sigmoid is already 0 (an overflow to inf is slow, not wrong)
    denom = _one_plus_exp(np.abs(np.abs(da) - np.abs(db)), p.mu_1, p.tau_1)
    denom *= _one_plus_exp(np.abs(np.angle(rot[:, None] * np.conj(rot)[None, :])), p.mu_2, p.tau_2)
    denom *= _one_plus_exp(np.abs(np.angle(rot[:, None] * np.conj(da) * db)), p.mu_3, p.tau_3)
    rho = 1.0 / denom
    np.fill_diagonal(rho, 0.0)
    # n_rel relaxation steps are one fixed linear map: lam <- (w I + (1 - w) rho / k) lam
    k = len(lam0) - 1
    step = (1 - p.w_r) / k * rho
    step.flat[:: k + 2] += p.w_r
    lam = lam0
    for _ in range(p.n_rel):
        lam = step @ lam
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
    xa, ya, ca, sa = a.planar
    xb, yb, cb, sb = b.planar
    ns, na, nb = len(ia), len(xa), len(xb)
    # rotation taking each seed of a onto its partner in b: angle(b) - angle(a)
    ct = (cb[ib] * ca[ia] + sb[ib] * sa[ia])[:, None]
    st = (sb[ib] * ca[ia] - cb[ib] * sa[ia])[:, None]
    rx = xa[None, :] - xa[ia][:, None]  # (s, na): a's minutiae relative to each seed
    ry = ya[None, :] - ya[ia][:, None]
    # a's minutiae moved onto b's frame and their turned directions, as rows for one product
    # with b's pairing rows (broadcast arithmetic over (s, na, nb) costs several times more)
    rows = np.zeros((2, ns, na, 6), np.float32)
    mx = rows[0, :, :, 0]
    my = rows[0, :, :, 1]
    np.add(ct * rx - st * ry, xb[ib][:, None], out=mx)
    np.add(st * rx + ct * ry, yb[ib][:, None], out=my)
    rows[0, :, :, 2] = mx * mx + my * my
    rows[0, :, :, 3] = 1.0
    rows[1, :, :, 4] = ca * ct - sa * st
    rows[1, :, :, 5] = sa * ct + ca * st
    out = rows.reshape(2 * ns * na, 6) @ b.pairing_rows
    d2, cos_turn = out[: ns * na], out[ns * na:]
    r, c = np.nonzero((d2 <= p.pair_distance ** 2) & (cos_turn >= math.cos(p.pair_angle)))
    if len(r) == 0:
        return 0
    # one-to-one: each minutia of a takes its nearest admissible partner (sorted by row, then
    # distance: the first of each row), and a partner taken twice counts once
    order = np.argsort(r * 1e6 + d2[r, c])
    r, c = r[order], c[order]
    first = np.ones(len(r), bool)
    first[1:] = r[1:] != r[:-1]
    codes = np.sort((r[first] // na) * nb + c[first])
    distinct = np.ones(len(codes), bool)
    distinct[1:] = codes[1:] != codes[:-1]
    return int(np.bincount(codes[distinct] // nb).max())


def match(a: Template, b: Template, p: MccParams = DEFAULT) -> float:
    """Similarity of two templates in [0, 1]: MCC local similarities, LSS-R consolidation."""
    return score_cylinders(cylinders(a, p), cylinders(b, p), p)
