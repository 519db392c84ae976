"""Synthetic CCTV walk-past sequences: people crossing a checkpoint hall in front of a camera.

Each walker is a portrait (any photo with one face) cut out with a soft oval mask and pasted onto
a rendered hall, frame by frame, along a path: entering at one side, crossing the view while
coming closer (the face grows), turning the head (a horizontal squeeze for yaw, a rotation for
roll), with motion blur, sensor noise, lighting changes and JPEG compression. Several walkers
may be in view at once. Every frame comes with the true box of each visible face, so a bench or
a test knows who was where without trusting the detector.

Used by the tests (on the public-domain portraits in tests/face/data), by ``bench/cctv`` (on
../shared/data/faces) and by the demo's camera feed. Pure numpy and OpenCV; deterministic for a
given seed. The face cut-out needs one detection per portrait, which the caller supplies (a
``(x, y, w, h)`` box), so this module loads no model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Walker:
    """One person passing: whose face, from which portrait, when and how.

    ``face_box`` is the face in the portrait (x, y, w, h). The face grows from
    ``start_face_px`` to ``end_face_px`` wide over the walk; ``direction`` +1 walks left to right.
    ``yaw_deg`` and ``roll_deg`` are the head turn at the start and the end of the walk (linear in
    between), so a walker looks aside and then at the camera, or the other way round.
    """

    person: str
    portrait: np.ndarray
    face_box: Box
    start_frame: int
    frames: int
    direction: int = 1
    lane_y: float = 0.45  # vertical position of the face centre, as a fraction of the frame height
    start_face_px: float = 48.0
    end_face_px: float = 110.0
    yaw_deg: tuple[float, float] = (30.0, 0.0)
    roll_deg: tuple[float, float] = (0.0, 0.0)
    label: str = ""  # free text the caller uses to find the pass again (e.g. "pass-17")


@dataclass(frozen=True)
class TruthBox:
    """Where one walker's face is in one frame (the pasted face region, before blur)."""

    person: str
    label: str
    box: Box


@dataclass(frozen=True)
class SyntheticFrame:
    index: int
    image: np.ndarray
    truth: tuple[TruthBox, ...]


@dataclass
class Scene:
    """A hall of ``width`` x ``height`` pixels and the walkers passing through it."""

    walkers: Sequence[Walker]
    width: int = 1280
    height: int = 720
    seed: int = 0
    fps: float = 15.0
    noise_sigma: float = 3.0
    jpeg_quality: int = 80
    motion_blur: bool = True
    _background: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def length(self) -> int:
        return max((w.start_frame + w.frames for w in self.walkers), default=0)

    def background(self) -> np.ndarray:
        if self._background is None:
            self._background = render_hall(self.width, self.height, seed=self.seed)
        return self._background

    def frames(self) -> Iterator[SyntheticFrame]:
        rng = np.random.default_rng(self.seed + 7919)
        base = self.background()
        cutouts = {id(w): cut_out(w.portrait, w.face_box) for w in self.walkers}
        for index in range(self.length):
            image = base.copy()
            gain = 1.0 + 0.08 * math.sin(index / 23.0)  # daylight and fluorescent flicker
            truth = []
            # Farther walkers first, so a nearer face covers a farther one.
            active = [w for w in self.walkers if w.start_frame <= index < w.start_frame + w.frames]
            for walker in sorted(active, key=lambda w: _progress_size(w, index)):
                box = _paste(image, walker, cutouts[id(walker)], index, rng, self.motion_blur)
                if box is not None:
                    truth.append(TruthBox(walker.person, walker.label, box))
            image = np.clip(image.astype(np.float32) * gain + rng.normal(0, self.noise_sigma, image.shape), 0, 255)
            image = image.astype(np.uint8)
            if self.jpeg_quality < 100:
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                if ok:
                    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
            yield SyntheticFrame(index, image, tuple(truth))


def render_hall(width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """A plausible checkpoint hall: a lit ceiling, a floor in perspective, signs and pillars."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    top = np.array([200, 205, 210], np.float32)
    bottom = np.array([110, 115, 125], np.float32)
    image = (top * (1 - y[..., None]) + bottom * y[..., None]) * np.ones((1, width, 1), np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    horizon = int(height * 0.62)
    for k in range(-12, 13):  # floor tiles converging to a vanishing point
        x0 = width / 2 + k * width / 10
        cv2.line(image, (int(width / 2 + k * 20), horizon), (int(x0), height), (95, 98, 105), 2)
    for k in range(8):
        yy = horizon + int((height - horizon) * (k / 8) ** 1.6)
        cv2.line(image, (0, yy), (width, yy), (100, 104, 110), 1)
    for _ in range(6):  # pillars and counters
        x = int(rng.uniform(0, width))
        w = int(rng.uniform(30, 90))
        shade = float(rng.uniform(120, 180))
        cv2.rectangle(image, (x, int(height * 0.08)), (x + w, horizon + 40), (shade, shade + 4, shade + 8), -1)
    for _ in range(4):  # signs
        x, yy = int(rng.uniform(0, width - 200)), int(rng.uniform(10, height * 0.2))
        cv2.rectangle(image, (x, yy), (x + 180, yy + 40), (40, 120, 200), -1)
        cv2.putText(image, "GATE", (x + 40, yy + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (240, 240, 240), 2)
    return image


@dataclass(frozen=True)
class _Cutout:
    image: np.ndarray  # BGR, the face with a margin
    alpha: np.ndarray  # float32 0..1, soft oval
    face: Box  # the face box inside the cut-out


def cut_out(portrait: np.ndarray, face_box: Box, margin: float = 0.45) -> _Cutout:
    """The face and some hair and neck around it, with a feathered oval edge."""
    x, y, w, h = face_box
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = w * (0.5 + margin), h * (0.5 + margin * 1.2)
    x0, y0 = int(max(0, cx - half_w)), int(max(0, cy - half_h))
    x1, y1 = int(min(portrait.shape[1], cx + half_w)), int(min(portrait.shape[0], cy + half_h))
    crop = portrait[y0:y1, x0:x1].copy()
    ch, cw = crop.shape[:2]
    alpha = np.zeros((ch, cw), np.float32)
    cv2.ellipse(alpha, (int(cx - x0), int(cy - y0)), (int(half_w * 0.92), int(half_h * 0.92)), 0, 0, 360, 1.0, -1)
    feather = max(3, int(min(cw, ch) * 0.08)) | 1
    alpha = cv2.GaussianBlur(alpha, (feather, feather), 0)
    return _Cutout(crop, alpha, (x - x0, y - y0, w, h))


def _progress_size(walker: Walker, index: int) -> float:
    t = (index - walker.start_frame) / max(1, walker.frames - 1)
    return walker.start_face_px + (walker.end_face_px - walker.start_face_px) * t


def _paste(image: np.ndarray, walker: Walker, cutout: _Cutout, index: int, rng: np.random.Generator,
           motion_blur: bool) -> Box | None:
    height, width = image.shape[:2]
    t = (index - walker.start_frame) / max(1, walker.frames - 1)
    face_px = _progress_size(walker, index)
    scale = face_px / cutout.face[2]
    yaw = walker.yaw_deg[0] + (walker.yaw_deg[1] - walker.yaw_deg[0]) * t
    roll = walker.roll_deg[0] + (walker.roll_deg[1] - walker.roll_deg[0]) * t
    # Yaw seen from the camera: the face gets narrower, the far half more (approximated by a
    # uniform squeeze), plus a slight shift toward the turned side.
    squeeze = max(0.45, math.cos(math.radians(yaw)))
    sx, sy = scale * squeeze, scale
    ch, cw = cutout.image.shape[:2]
    center = (cw / 2, ch / 2)
    matrix = cv2.getRotationMatrix2D(center, roll, 1.0)
    matrix[0, :] *= sx
    matrix[1, :] *= sy
    out_w, out_h = max(2, int(cw * sx * 1.25)), max(2, int(ch * sy * 1.25))
    matrix[0, 2] += out_w / 2 - cw * sx / 2
    matrix[1, 2] += out_h / 2 - ch * sy / 2
    patch = cv2.warpAffine(cutout.image, matrix, (out_w, out_h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    alpha = cv2.warpAffine(cutout.alpha, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=0)
    if motion_blur:
        length = int(rng.integers(1, 4))
        if length > 1:
            kernel = np.zeros((length, length), np.float32)
            kernel[length // 2, :] = 1.0 / length
            patch = cv2.filter2D(patch, -1, kernel)
    # Path: across the frame, with a small vertical bob of the gait.
    margin = face_px
    x_start, x_end = (-margin, width + margin) if walker.direction > 0 else (width + margin, -margin)
    cx = x_start + (x_end - x_start) * t
    cy = walker.lane_y * height + 6 * math.sin(index * 0.9) + 40 * t
    x0, y0 = int(round(cx - out_w / 2)), int(round(cy - out_h / 2))
    # The face box in the frame: the cut-out's face box through the same transform.
    fx, fy, fw, fh = cutout.face
    corners = np.array([[fx, fy, 1], [fx + fw, fy, 1], [fx, fy + fh, 1], [fx + fw, fy + fh, 1]], np.float64)
    mapped = corners @ matrix.T
    bx0, by0 = mapped[:, 0].min() + x0, mapped[:, 1].min() + y0
    bx1, by1 = mapped[:, 0].max() + x0, mapped[:, 1].max() + y0
    # Paste the visible part.
    ix0, iy0 = max(0, x0), max(0, y0)
    ix1, iy1 = min(width, x0 + out_w), min(height, y0 + out_h)
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    region = image[iy0:iy1, ix0:ix1].astype(np.float32)
    p = patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0].astype(np.float32)
    a = alpha[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0, None]
    image[iy0:iy1, ix0:ix1] = (p * a + region * (1 - a)).astype(np.uint8)
    vx0, vy0, vx1, vy1 = max(0.0, bx0), max(0.0, by0), min(float(width), bx1), min(float(height), by1)
    if vx1 - vx0 < 0.6 * (bx1 - bx0) or vy1 - vy0 < 0.6 * (by1 - by0):
        return None  # mostly outside the frame: nobody could recognise it
    return (bx0, by0, bx1 - bx0, by1 - by0)


def write_frames(frames: Iterator[SyntheticFrame], folder: Path, *, ext: str = ".jpg") -> int:
    """Write each frame as ``frame_000001.jpg``...: the "folder of frames" source of a camera node."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for frame in frames:
        cv2.imwrite(str(folder / f"frame_{frame.index:06d}{ext}"), frame.image)
        count += 1
    return count


def write_video(frames: Iterator[SyntheticFrame], path: Path, *, fps: float = 15.0) -> int:
    """Write an MJPG AVI (OpenCV's own encoder, present in every build)."""
    writer = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                h, w = frame.image.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
                if not writer.isOpened():
                    raise OSError(f"cannot write video {path}")
            writer.write(frame.image)
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def iou(a: Box, b: Box) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    iy = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
