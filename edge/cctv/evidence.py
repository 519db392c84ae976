"""What an alarm shows the operator: the scene, the best face crops and the track's frames.

Crops are cut from the camera's own frames (never enlarged), then the whole alarm is shrunk
step by step (JPEG quality, then sizes, then fewer frames) until the signed message fits the
protocol's size limit: an alarm is never dropped for being too big, it only loses detail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from protocol.envelope import MAX_MESSAGE_BYTES
from protocol.messages import MAX_ALARM_JPEG_BYTES, AlarmCandidate, CctvAlarm

from .facelist import encode_embedding

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
# The envelope's own fields and the signature, base64 growth is counted separately.
ENVELOPE_ROOM_BYTES = 1024


def crop(image: np.ndarray, box: Box, *, margin: float, max_side_px: int) -> np.ndarray:
    """*box* grown by *margin* (a fraction of its size on every side), clipped to the image,
    shrunk so its longer side is at most *max_side_px*."""
    x, y, w, h = box
    x0, y0 = int(max(0, x - margin * w)), int(max(0, y - margin * h))
    x1, y1 = int(min(image.shape[1], x + w * (1 + margin))), int(min(image.shape[0], y + h * (1 + margin)))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((8, 8, 3), np.uint8)
    part = image[y0:y1, x0:x1]
    scale = max_side_px / max(part.shape[:2])
    if scale < 1:
        part = cv2.resize(part, (max(1, round(part.shape[1] * scale)), max(1, round(part.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(part)


def scene(image: np.ndarray, box: Box, *, max_side_px: int = 640) -> np.ndarray:
    """The whole frame with the person's face boxed, shrunk to *max_side_px*."""
    marked = image.copy()
    x, y, w, h = (int(round(v)) for v in box)
    thickness = max(2, image.shape[1] // 400)
    cv2.rectangle(marked, (x, y), (x + w, y + h), (0, 0, 255), thickness)
    scale = max_side_px / max(marked.shape[:2])
    if scale < 1:
        marked = cv2.resize(marked, (round(marked.shape[1] * scale), round(marked.shape[0] * scale)),
                            interpolation=cv2.INTER_AREA)
    return marked


@dataclass(frozen=True)
class AlarmImages:
    """The pictures of one alarm, as BGR arrays (encoded only when the alarm is sent)."""

    snapshot: np.ndarray | None
    faces: tuple[np.ndarray, ...]
    track: tuple[tuple[int, np.ndarray], ...]  # (frame index, head-and-shoulders crop)


@dataclass(frozen=True)
class AlarmFacts:
    """Everything in a ``CctvAlarm`` except the pictures."""

    alarm_id: str
    track_id: int
    entry_id: str
    list: str
    template_id: str
    score: float
    threshold: float
    target_fpir: float | None
    gallery_size: int
    frame_scores: tuple[float, ...]
    candidates: tuple[tuple[str, float], ...]
    first_seen_ms: int
    last_seen_ms: int
    frame: int
    frames_seen: int
    faces_embedded: int
    face_watchlist_version: int
    model: str
    probe: np.ndarray = field(repr=False)


def _jpeg(image: np.ndarray, quality: int, max_side_px: int | None = None) -> bytes | None:
    if max_side_px is not None and max(image.shape[:2]) > max_side_px:
        scale = max_side_px / max(image.shape[:2])
        image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok or len(data) > MAX_ALARM_JPEG_BYTES:
        return None
    return data.tobytes()


# Ever smaller renditions: (jpeg quality, snapshot side, face side, track side, track frames).
_STEPS = ((85, 640, 160, 112, 8), (75, 560, 144, 96, 8), (65, 480, 128, 96, 6), (55, 400, 112, 80, 4),
          (45, 320, 96, 64, 3), (35, 240, 80, 48, 2), (30, 160, 64, 40, 0))


def build_alarm(facts: AlarmFacts, images: AlarmImages) -> CctvAlarm:
    """The wire alarm, its pictures shrunk until the sealed message fits ``MAX_MESSAGE_BYTES``."""
    base = dict(
        alarm_id=facts.alarm_id, track_id=facts.track_id, entry_id=facts.entry_id, list=facts.list,
        template_id=facts.template_id, score=round(facts.score, 5), threshold=round(facts.threshold, 5),
        target_fpir=facts.target_fpir, gallery_size=facts.gallery_size, frame_scores=facts.frame_scores[:16],
        candidates=tuple(AlarmCandidate(entry_id=e, score=s) for e, s in facts.candidates[:5]),
        first_seen_ms=facts.first_seen_ms, last_seen_ms=max(facts.last_seen_ms, facts.first_seen_ms),
        frame=facts.frame, frames_seen=max(1, facts.frames_seen), faces_embedded=max(1, facts.faces_embedded),
        face_watchlist_version=facts.face_watchlist_version, model=facts.model,
        probe_embedding=encode_embedding(facts.probe),
    )
    alarm = CctvAlarm(**base)
    for quality, snap_px, face_px, track_px, track_n in _STEPS:
        snapshot = _jpeg(images.snapshot, quality, snap_px) if images.snapshot is not None else None
        faces = tuple(j for j in (_jpeg(f, quality, face_px) for f in images.faces[:3]) if j)
        track = [(n, j) for n, j in ((n, _jpeg(t, quality, track_px)) for n, t in _spread(images.track, track_n)) if j]
        alarm = CctvAlarm(**base, snapshot_jpeg=snapshot, face_jpegs=faces,
                          track_jpegs=tuple(j for _, j in track), track_frames=tuple(n for n, _ in track))
        if len(alarm.model_dump_json()) + ENVELOPE_ROOM_BYTES <= MAX_MESSAGE_BYTES:
            return alarm
    log.warning("alarm %s: pictures left out, the message would not fit", facts.alarm_id)
    return CctvAlarm(**base)


def _spread(items: tuple[tuple[int, np.ndarray], ...], n: int) -> list[tuple[int, np.ndarray]]:
    """*n* items evenly spread over *items* (first and last kept)."""
    if n <= 0 or not items:
        return []
    if len(items) <= n:
        return list(items)
    picks = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]
