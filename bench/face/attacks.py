"""Simulated presentation attacks and bona fide bursts for the PAD evaluation (ISO/IEC 30107-3
terms: attack presentation = AP, bona fide = BF). Everything is generated from a single real face
image and a 3-D five-point face model; nothing here is real attack data.

* Landmark tracks: the five points are placed in 3-D (nose tip in front of the eye plane), turned
  along a yaw trajectory and projected by a pinhole camera, with detector-like noise. A flat photo
  is the same points with zero depth (a photo shows a frontal face wherever it is turned).
* Textures: a print is simulated by CMYK-like halftone dots, then paper contrast, blur and
  resampling by the camera; a screen replay by an RGB sub-pixel stripe grid, display gamma and
  resampling at a non-integer scale and a slight angle (which makes moire), then noise and JPEG.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.face.align import TEMPLATE_112
from edge.face.liveness import Challenge, LivenessFrame

# 3-D model in inter-eye units: x right, y down, z toward the camera.
_IED = float(TEMPLATE_112[1, 0] - TEMPLATE_112[0, 0])
MODEL_3D = np.column_stack([(TEMPLATE_112 - TEMPLATE_112[:2].mean(0)) / _IED,
                            [0.0, 0.0, 0.6, -0.05, -0.05]])


def project(points3d: np.ndarray, yaw_deg: float, pitch_deg: float, roll_deg: float,
            ied_px: float, rng: np.random.Generator, noise_px: float) -> np.ndarray:
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    pts = points3d @ (rz @ rx @ ry).T
    distance = 8.0  # camera distance in inter-eye units (about 50 cm at 63 mm)
    scale = ied_px * distance / (distance - pts[:, 2])
    out = np.column_stack([pts[:, 0] * scale, pts[:, 1] * scale]) + [320, 240]
    return (out + rng.normal(0, noise_px, out.shape)).astype(np.float32)


def yaw_track(challenge: Challenge, frames: int, peak_deg: float) -> np.ndarray:
    """0 -> peak -> 0 over the burst; positive yaw moves the nose to the image's right."""
    t = np.linspace(0, np.pi, frames)
    sign = 1.0 if challenge == Challenge.TURN_LEFT else -1.0 if challenge == Challenge.TURN_RIGHT else 0.0
    return sign * peak_deg * np.sin(t)


def landmark_track(kind: str, challenge: Challenge, rng: np.random.Generator, frames: int = 12,
                   ied_px: float = 60.0, noise_px: float = 1.0) -> list[np.ndarray]:
    """kind: 'live' (3-D head), 'flat' (photo, no depth), 'curved' (photo bent round a cylinder)."""
    pts = MODEL_3D.copy()
    if kind == "flat":
        pts[:, 2] = 0.0
    elif kind == "curved":
        pts[:, 2] = 0.25 - 0.5 * pts[:, 0] ** 2  # a bent print: the centre bulges toward the camera
    peak = rng.uniform(22, 35)  # travelers asked to turn go 20-40 degrees
    yaws = yaw_track(challenge, frames, peak) if kind != "still" else np.zeros(frames)
    if kind == "still":
        pts[:, 2] = 0.0
    pitch, roll = rng.normal(0, 3), rng.normal(0, 2)
    return [project(pts, yw, pitch + rng.normal(0, 0.5), roll + rng.normal(0, 0.5), ied_px, rng, noise_px)
            for yw in yaws]


def openness_track(blinks: bool, frames: int, rng: np.random.Generator) -> list[float]:
    base = rng.uniform(0.4, 0.8)
    o = base + rng.normal(0, 0.03, frames)
    if blinks:
        k = int(rng.integers(1, frames - 2))
        o[k] = base * rng.uniform(0.0, 0.3)
        o[k + 1] = base * rng.uniform(0.2, 0.6)
    return [float(max(0.0, v)) for v in o]


def camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise and JPEG, applied to every presentation (bona fide too)."""
    noisy = np.clip(image.astype(np.float32) + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(80, 95))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _recapture(canvas: np.ndarray, out_shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = out_shape
    angle = rng.uniform(-4, 4)
    m = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), angle, 1.0)
    tilted = cv2.warpAffine(canvas, m, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REFLECT)
    blurred = cv2.GaussianBlur(tilted, (0, 0), rng.uniform(0.3, 0.8))
    return cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)


def simulate_screen(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replay on a display: each image pixel becomes a 3-stripe RGB sub-pixel cell."""
    h, w = image.shape[:2]
    pitch = 3
    up = cv2.resize(image, (w * pitch, h * pitch), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    gamma = rng.uniform(0.8, 1.2)
    up = 255.0 * (up / 255.0) ** gamma
    stripes = np.zeros((h * pitch, w * pitch, 3), np.float32)
    for c, bgr in enumerate((2, 1, 0)):  # R, G, B stripes left to right
        stripes[:, c::pitch, bgr] = 1.0
    stripes[pitch - 1::pitch, :, :] *= 0.8  # dark row gap between pixel rows
    # At gate distance the grid is faint: mix a visible fraction of it into the picture (mean kept).
    grid = rng.uniform(0.25, 0.5)
    cell = np.clip(up * ((1 - grid) + grid * 3 * stripes) + rng.uniform(0, 10), 0, 255).astype(np.uint8)
    scale = rng.uniform(0.62, 0.9) / pitch * pitch  # camera sees the screen a little smaller
    out = _recapture(cell, (int(h * scale), int(w * scale)), rng)
    return camera(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR), rng)


def simulate_print(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Print at ~150 lpi-like halftone (dot cells of 4 px on a 3x canvas), then photograph it."""
    h, w = image.shape[:2]
    k = 3
    up = cv2.resize(image, (w * k, h * k), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    yy, xx = np.mgrid[: h * k, : w * k].astype(np.float32)
    out = np.zeros_like(up)
    cell = 4.0
    for c, angle in enumerate((15, 75, 45)):
        a = np.radians(angle + rng.uniform(-3, 3))
        u = (xx * np.cos(a) + yy * np.sin(a)) / cell
        v = (-xx * np.sin(a) + yy * np.cos(a)) / cell
        dot = (np.cos(2 * np.pi * u) * np.cos(2 * np.pi * v) + 1) / 2  # 0..1 dot profile
        ink = 1.0 - up[:, :, c]
        out[:, :, c] = np.where(dot < ink, 0.0, 1.0)
    paper = np.clip(out * rng.uniform(0.75, 0.9) + rng.uniform(0.05, 0.12), 0, 1) * 255
    rec = _recapture(paper.astype(np.uint8), (int(h * rng.uniform(0.8, 1.0)), int(w * rng.uniform(0.8, 1.0))), rng)
    return camera(cv2.resize(rec, (w, h), interpolation=cv2.INTER_LINEAR), rng)


def frames_for(kind: str, challenge: Challenge, face_grey: list[np.ndarray], rng: np.random.Generator,
               blinks: bool) -> list[LivenessFrame]:
    track = landmark_track(kind, challenge, rng, frames=len(face_grey))
    opens = openness_track(blinks, len(face_grey), rng)
    return [LivenessFrame(landmarks=t, eye_openness=o, face_grey=g) for t, o, g in zip(track, opens, face_grey)]
