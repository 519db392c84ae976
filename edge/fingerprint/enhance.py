"""Contextual (Gabor) ridge enhancement, binarisation and thinning.

The Gabor bank is quantised to ``n_angles`` orientations at the print's own ridge period; each
pixel takes the response of the filter nearest its ridge orientation. Thinning is Zhang-Suen with
lookup tables over the 8-neighbour code, so every pass is a handful of whole-image numpy ops.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .ridges import RidgeField

# neighbour offsets (dy, dx) in the order P2..P9 of Zhang-Suen: N, NE, E, SE, S, SW, W, NW
NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


@lru_cache(maxsize=64)
def gabor_bank(period_px: float, n_angles: int) -> tuple[np.ndarray, ...]:
    sigma = 0.5 * period_px  # about one ridge-valley pair under the envelope's core
    half = int(np.ceil(3 * sigma))
    ys, xs = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    bank = []
    for k in range(n_angles):
        theta = np.pi * k / n_angles  # ridge orientation
        # coordinate across the ridges
        u = -xs * np.sin(theta) + ys * np.cos(theta)
        v = xs * np.cos(theta) + ys * np.sin(theta)
        env = np.exp(-(u * u + v * v) / (2 * sigma * sigma))
        kern = env * np.cos(2 * np.pi * u / period_px)
        kern -= kern.mean()  # zero DC: flat areas answer nothing
        bank.append((kern / np.abs(kern).sum()).astype(np.float32))
    return tuple(bank)


def gabor_enhance(norm: np.ndarray, field: RidgeField, n_angles: int = 16) -> np.ndarray:
    bank = gabor_bank(round(field.period_px * 4) / 4, n_angles)
    idx = np.round(field.orientation * n_angles / np.pi).astype(np.int32) % n_angles
    out = np.zeros_like(norm)
    for k, kern in enumerate(bank):
        sel = idx == k
        if not sel.any():
            continue
        resp = cv2.filter2D(norm, cv2.CV_32F, kern, borderType=cv2.BORDER_REFLECT)
        out[sel] = resp[sel]
    return out


def _lut(step: int) -> np.ndarray:
    lut = np.zeros(256, bool)
    for code in range(256):
        p = [(code >> i) & 1 for i in range(8)]  # P2..P9
        b = sum(p)
        a = sum(1 for i in range(8) if p[i] == 0 and p[(i + 1) % 8] == 1)
        p2, _p3, p4, _p5, p6, _p7, p8, _p9 = p
        if step == 0:
            cond = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
        else:
            cond = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
        lut[code] = 2 <= b <= 6 and a == 1 and cond
    return lut


_LUTS = (_lut(0), _lut(1))


def neighbour_code(img: np.ndarray) -> np.ndarray:
    """8-bit code of the 8 neighbours (bit i = P(i+2)) of every pixel of a 0/1 uint8 image."""
    p = np.pad(img, 1)
    h, w = img.shape
    code = np.zeros((h, w), np.uint8)
    for bit, (dy, dx) in enumerate(NEIGHBOURS):
        code |= p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] << bit
    return code


def thin(binary: np.ndarray, max_passes: int = 40) -> np.ndarray:
    """Zhang-Suen skeleton of a boolean image (8-connected, one pixel wide)."""
    img = binary.astype(np.uint8)
    for _ in range(max_passes):
        changed = False
        for lut in _LUTS:
            delete = lut[neighbour_code(img)] & (img == 1)
            if delete.any():
                img[delete] = 0
                changed = True
        if not changed:
            break
    return img.astype(bool)


def binarise(enhanced: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (enhanced > 0) & mask
