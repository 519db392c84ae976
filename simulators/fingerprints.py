"""Synthetic fingerprints for the demo and the tests: a finger per traveller, many impressions.

Deterministic from the traveller's id and finger position, so every run of the simulator and every
test sees the same prints. A master finger is grown SFinGe-style: a pattern class (arch, loop,
whorl) gives an orientation field from its cores and deltas (Sherlock-Monro zero-pole model), and
iterated Gabor filtering of seeded noise along that field grows the ridges, with their endings
and bifurcations appearing on their own. Each impression then applies what a real capture does: a
placement (rotation, shift), a smooth non-linear skin distortion, a contact area, finger pressure
(ridge thickness), dryness patches, blur and sensor noise. Images are uint8, dark ridges on a
light ground, at 500 ppi.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

PATTERNS = ("arch", "left_loop", "right_loop", "whorl")
DEFAULT_SIZE = (320, 384)  # width, height in pixels at 500 ppi (a 16 x 19 mm window)


def finger_seed(person_id: str | int, finger_position: int = 2) -> int:
    """A stable 63-bit seed for one finger of one traveller (position per ISO: 2 = right index)."""
    digest = hashlib.sha256(f"{person_id}:{finger_position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _zero_pole(shape: tuple[int, int], cores: list[complex], deltas: list[complex], turn: float) -> np.ndarray:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    z = xs + 1j * ys
    theta = np.zeros(shape)
    # with y pointing down the plane is mirrored, so cores add and deltas subtract
    for c in cores:
        theta += np.angle(z - c)
    for d in deltas:
        theta -= np.angle(z - d)
    return np.mod(0.5 * theta + turn, np.pi)


def _arch(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    cx = w * rng.uniform(0.4, 0.6)
    s = w * rng.uniform(0.3, 0.45)
    amp = h * rng.uniform(0.15, 0.3) / (1 + np.exp((ys - h * rng.uniform(0.5, 0.7)) / (0.12 * h)))
    slope = -2 * amp * (xs - cx) / (s * s) * np.exp(-((xs - cx) ** 2) / (s * s))
    return np.mod(np.arctan(slope), np.pi)


def orientation_field(pattern: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    turn = rng.uniform(-0.15, 0.15)
    if pattern == "arch":
        return _arch(shape, rng)
    if pattern in ("left_loop", "right_loop"):
        side = -1 if pattern == "left_loop" else 1
        core = complex(w * rng.uniform(0.42, 0.58), h * rng.uniform(0.35, 0.5))
        delta = core + complex(side * w * rng.uniform(0.2, 0.35), h * rng.uniform(0.3, 0.45))
        return _zero_pole(shape, [core], [delta], turn)
    if pattern == "whorl":
        c = complex(w * rng.uniform(0.45, 0.55), h * rng.uniform(0.4, 0.5))
        off = complex(rng.uniform(-0.04, 0.04) * w, h * rng.uniform(0.03, 0.07))
        d_y = h * rng.uniform(0.3, 0.4)
        deltas = [c + complex(-w * rng.uniform(0.3, 0.4), d_y), c + complex(w * rng.uniform(0.3, 0.4), d_y)]
        return _zero_pole(shape, [c - off, c + off], deltas, turn)
    raise ValueError(f"unknown fingerprint pattern {pattern!r}; expected one of {PATTERNS}")


@lru_cache(maxsize=8)
def _gabor(period: float, n_angles: int) -> tuple[np.ndarray, ...]:
    sigma = 0.45 * period
    half = int(np.ceil(2.5 * sigma))
    ys, xs = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    bank = []
    for k in range(n_angles):
        t = np.pi * k / n_angles
        u = -xs * np.sin(t) + ys * np.cos(t)
        kern = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma)) * np.cos(2 * np.pi * u / period)
        kern -= kern.mean()
        bank.append((kern / np.abs(kern).sum()).astype(np.float32))
    return tuple(bank)


def grow_ridges(orient: np.ndarray, period: float, rng: np.random.Generator,
                iterations: int = 6, n_angles: int = 16, start: np.ndarray | None = None) -> np.ndarray:
    """Ridge pattern in [-1, 1] grown from noise (or *start*) by Gabor filtering along *orient*."""
    img = rng.standard_normal(orient.shape).astype(np.float32) if start is None else start.astype(np.float32)
    idx = np.round(orient * n_angles / np.pi).astype(np.int32) % n_angles
    masks = [idx == k for k in range(n_angles)]
    bank = _gabor(round(period * 4) / 4, n_angles)
    for _ in range(iterations):
        out = np.zeros_like(img)
        for k, kern in enumerate(bank):
            if masks[k].any():
                out[masks[k]] = cv2.filter2D(img, cv2.CV_32F, kern, borderType=cv2.BORDER_REFLECT)[masks[k]]
        img = np.clip(out / (np.std(out) + 1e-6) * 1.5, -1.0, 1.0)
    return img


@dataclass(frozen=True, eq=False)
class SyntheticFinger:
    """One master finger. ``ridges`` is in [-1, 1] (ridge positive), twice the padding of an image."""

    seed: int
    pattern: str
    period_px: float
    ridges: np.ndarray
    size: tuple[int, int]

    def impression(self, index: int, *, quality: str = "normal") -> np.ndarray:
        """Impression *index* as a uint8 image of ``size``; index 0 is a careful enrolment press.

        *quality* ``"poor"`` gives a partial, smudged press that a gate should refuse;
        ``"none"`` an empty platen.
        """
        rng = np.random.default_rng([self.seed, index, {"normal": 0, "poor": 1, "none": 2}[quality]])
        w, h = self.size
        if quality == "none":
            noise = rng.normal(0, 3, (h, w))
            return np.clip(225 + noise, 0, 255).astype(np.uint8)
        gentle = 0.3 if index == 0 else 1.0
        angle = rng.uniform(-15, 15) * gentle
        shift = rng.uniform(-18, 18, 2) * gentle
        big_h, big_w = self.ridges.shape
        centre = (big_w / 2 + shift[0], big_h / 2 + shift[1])
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        m[:, 2] += [w / 2 - centre[0], h / 2 - centre[1]]
        # smooth random displacement field: skin stretches unevenly under pressure
        coarse = rng.normal(0, 2.5 * gentle + 0.5, (2, 5, 5)).astype(np.float32)
        dx = cv2.resize(coarse[0], (w, h), interpolation=cv2.INTER_CUBIC)
        dy = cv2.resize(coarse[1], (w, h), interpolation=cv2.INTER_CUBIC)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        inv = cv2.invertAffineTransform(m)
        map_x = inv[0, 0] * (xs + dx) + inv[0, 1] * (ys + dy) + inv[0, 2]
        map_y = inv[1, 0] * (xs + dx) + inv[1, 1] * (ys + dy) + inv[1, 2]
        ridges = cv2.remap(self.ridges, map_x.astype(np.float32), map_y.astype(np.float32),
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        # contact area: an ellipse, smaller and off-centre for a poor press
        scale = rng.uniform(0.82, 0.95) if quality == "normal" else rng.uniform(0.3, 0.42)
        cx = w / 2 + rng.uniform(-0.06, 0.06) * w
        cy = h / 2 + rng.uniform(-0.06, 0.06) * h
        ell = ((xs - cx) / (0.5 * w * scale)) ** 2 + ((ys - cy) / (0.5 * h * scale * 1.05)) ** 2
        contact = np.clip((1.0 - ell) * 6.0, 0.0, 1.0)
        pressure = rng.uniform(-0.35, 0.35)  # >0 thick ridges (wet, hard press), <0 thin (dry)
        ink = 1.0 / (1.0 + np.exp(-4.0 * (ridges + pressure)))
        # dry patches where ridges fade out
        spots = cv2.resize(rng.random((6, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        ink *= np.clip(1.3 - 0.6 * (spots > rng.uniform(0.75, 0.95)) * 1.0, 0.0, 1.0)
        ink *= contact
        if quality == "poor":
            ink = cv2.GaussianBlur(ink, (0, 0), 3.0) * 0.5
        img = 225.0 - 185.0 * ink
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), rng.uniform(0.5, 1.0))
        img += rng.normal(0, rng.uniform(3, 9), img.shape)
        return np.clip(img, 0, 255).astype(np.uint8)


@lru_cache(maxsize=64)
def synthetic_finger(person_id: str | int, finger_position: int = 2,
                     size: tuple[int, int] = DEFAULT_SIZE) -> SyntheticFinger:
    """The master finger of *person_id* (deterministic; cached per process)."""
    seed = finger_seed(person_id, finger_position)
    rng = np.random.default_rng(seed)
    pattern = PATTERNS[int(rng.choice(len(PATTERNS), p=[0.08, 0.32, 0.32, 0.28]))]
    period = float(rng.uniform(8.5, 10.5))
    w, h = size
    pad = 48  # room for the placement shifts and rotation of each impression
    shape = (h + 2 * pad, w + 2 * pad)
    orient = orientation_field(pattern, shape, rng)
    # grow at half size (a quarter of the work), then one full-size pass to sharpen the ridges
    half = cv2.resize(np.cos(2 * orient), (shape[1] // 2, shape[0] // 2)), \
        cv2.resize(np.sin(2 * orient), (shape[1] // 2, shape[0] // 2))
    orient_half = np.mod(0.5 * np.arctan2(half[1], half[0]), np.pi)
    ridges = grow_ridges(orient_half, period / 2, rng, iterations=6)
    ridges = cv2.resize(ridges, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    ridges = grow_ridges(orient, period, rng, iterations=1, start=ridges)
    return SyntheticFinger(seed=seed, pattern=pattern, period_px=period, ridges=ridges, size=size)


def impression(person_id: str | int, index: int, finger_position: int = 2, *,
               quality: str = "normal") -> np.ndarray:
    """Impression *index* of a traveller's finger, as a 500 ppi uint8 grey image."""
    return synthetic_finger(person_id, finger_position).impression(index, quality=quality)


SENSOR_WINDOW = (256, 288)  # width, height of an R30x/AS608 image at 500 ppi


def traveler_finger(traveler: object, flag: str, attempt: int) -> np.ndarray:
    """``GateDriver.render_finger`` for real fingerprint engines: a traveler's finger is
    identified by their document number, as the enrolment made at passport issuance is."""
    return sensor_capture(str(getattr(traveler, "document_number")), flag, attempt)


def enrolment_press(traveler: object) -> np.ndarray:
    """The careful press taken at passport issuance (the enrolment), for the same traveler."""
    return impression(str(getattr(traveler, "document_number")), 0)


def sensor_capture(person_id: str | int, flag: str, attempt: int) -> np.ndarray:
    """What the gate's sensor images for a simulated traveler's finger flag at one attempt:
    "genuine" is a fresh press of their own finger (impression ``attempt + 1``; impression 0 is
    the enrolment), "mismatch" another person's finger, "unreadable" a smudged partial press;
    cropped to the sensor's window."""
    if flag == "genuine":
        image = impression(person_id, attempt + 1)
    elif flag == "mismatch":
        image = impression(f"{person_id}/someone-else", attempt + 1)
    else:
        image = impression(person_id, attempt + 1, quality="poor")
    h, w = image.shape
    sw, sh = SENSOR_WINDOW
    top, left = max(0, (h - sh) // 2), max(0, (w - sw) // 2)
    return image[top:top + sh, left:left + sw]
