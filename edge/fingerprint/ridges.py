"""Ridge geometry of a fingerprint image: foreground mask, orientation, coherence and frequency.

Pure numpy/OpenCV on a float32 grey image at about 500 ppi. Ridge orientation is in [0, pi),
radians from +x towards +y, taken along the ridges.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class RidgeField:
    """Per-pixel ridge orientation (radians, along ridges), coherence 0..1, and the mask."""

    orientation: np.ndarray
    coherence: np.ndarray
    mask: np.ndarray
    period_px: float


def normalise(img: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance float32 image with ridges positive (dark ridges on light ground)."""
    f = img.astype(np.float32)
    f = 255.0 - f  # ridges are dark on every sensor we support
    f -= f.mean()
    std = float(f.std())
    return f / std if std > 1e-6 else f


def foreground_mask(norm: np.ndarray, block: int = 16, rel_threshold: float = 0.25) -> np.ndarray:
    """Where there is ridge texture: local gradient energy above a fraction of its robust maximum."""
    gx = cv2.Sobel(norm, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(norm, cv2.CV_32F, 0, 1, ksize=3)
    energy = cv2.blur(gx * gx + gy * gy, (block, block))
    # a high percentile instead of the maximum: a scratch or a dust spot must not set the scale
    ref = float(np.percentile(energy, 95))
    mask = (energy > rel_threshold * ref).astype(np.uint8) if ref > 0 else np.zeros(norm.shape, np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (block + 1, block + 1))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, k)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return np.zeros(norm.shape, bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = (labels == biggest).astype(np.uint8)
    # fill holes (a wet or dry patch inside the finger is still finger)
    inv = (1 - mask).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    h, w = mask.shape
    for i in range(1, n):
        x, y, bw, bh, _area = stats[i]
        if x > 0 and y > 0 and x + bw < w and y + bh < h:
            mask[labels == i] = 1
    return mask.astype(bool)


def orientation_field(norm: np.ndarray, grad_sigma: float = 1.0, block_sigma: float = 7.0,
                      smooth_sigma: float = 7.0) -> tuple[np.ndarray, np.ndarray]:
    """Ridge orientation and coherence from the smoothed gradient structure tensor."""
    src = cv2.GaussianBlur(norm, (0, 0), grad_sigma)
    gx = cv2.Sobel(src, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(src, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), block_sigma)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), block_sigma)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), block_sigma)
    c2 = gxx - gyy
    s2 = 2.0 * gxy
    coherence = np.sqrt(c2 * c2 + s2 * s2) / (gxx + gyy + 1e-6)
    # second smoothing of the doubled-angle field bridges creases and scars
    c2s = cv2.GaussianBlur(c2, (0, 0), smooth_sigma)
    s2s = cv2.GaussianBlur(s2, (0, 0), smooth_sigma)
    grad_dir = 0.5 * np.arctan2(s2s, c2s)
    orient = np.mod(grad_dir + np.pi / 2, np.pi).astype(np.float32)
    return orient, np.clip(coherence, 0, 1).astype(np.float32)


def ridge_period(norm: np.ndarray, mask: np.ndarray, block: int = 32,
                 min_px: float = 5.0, max_px: float = 15.0) -> float:
    """Median ridge period in pixels from the spectra of foreground blocks (about 9 at 500 ppi)."""
    step = block // 2
    tiles = np.lib.stride_tricks.sliding_window_view(norm, (block, block))[::step, ::step]
    centre = mask[block // 2::step, block // 2::step][: tiles.shape[0], : tiles.shape[1]]
    t = tiles[centre]
    if len(t) == 0:
        return float(np.clip(9.0, min_px, max_px))
    win = np.outer(np.hanning(block), np.hanning(block)).astype(np.float32)
    t = (t - t.mean(axis=(1, 2), keepdims=True)) * win
    spec = np.abs(np.fft.rfft2(t)) ** 2
    fy = np.fft.fftfreq(block)[:, None]
    fx = np.fft.rfftfreq(block)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    band = (radius >= 1.0 / max_px) & (radius <= 1.0 / min_px)
    flat = (spec * band).reshape(len(t), -1)
    peak = np.argmax(flat, axis=1)
    strength = flat[np.arange(len(t)), peak] / (flat.sum(axis=1) + 1e-9)
    freq = radius.reshape(-1)[peak]
    good = strength >= np.percentile(strength, 25)
    f = float(np.median(freq[good]))
    return float(np.clip(1.0 / max(f, 1e-3), min_px, max_px))


def ridge_field(norm: np.ndarray, scale: float = 1.0) -> RidgeField:
    """The ridge field of *norm*, an image at *scale* times 500 ppi (0.5 halves every size)."""
    block = max(4, round(16 * scale))
    mask = foreground_mask(norm, block=block)
    orient, coh = orientation_field(norm, grad_sigma=max(0.5, scale), block_sigma=7 * scale,
                                    smooth_sigma=7 * scale)
    period = ridge_period(norm, mask, block=max(8, round(32 * scale)),
                          min_px=5.0 * scale, max_px=15.0 * scale)
    return RidgeField(orientation=orient, coherence=coh, mask=mask, period_px=period)


def upsample(field: RidgeField, shape: tuple[int, int], factor: float) -> RidgeField:
    """The field at full resolution: orientation through its doubled angle, mask by nearest."""
    h, w = shape
    c = cv2.resize(np.cos(2 * field.orientation), (w, h), interpolation=cv2.INTER_LINEAR)
    s = cv2.resize(np.sin(2 * field.orientation), (w, h), interpolation=cv2.INTER_LINEAR)
    orient = np.mod(0.5 * np.arctan2(s, c), np.pi).astype(np.float32)
    coh = cv2.resize(field.coherence, (w, h), interpolation=cv2.INTER_LINEAR)
    mask = cv2.resize(field.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return RidgeField(orientation=orient, coherence=coh, mask=mask, period_px=field.period_px * factor)
