"""Face tracking across frames: one track per person walking through the view (pure, no I/O).

Each frame's detections are matched to the live tracks by overlap with the track's predicted
box (its last box moved by its velocity), falling back to centre distance in face widths for
someone moving fast or a frame the detector half-missed. Matching is greedy on the best pairs
first, which is exact enough for the handful of faces a checkpoint camera sees at once. A track
unseen for ``max_missed`` frames has ended; a detection that matches nothing starts a track.

One track per person is what makes one person walking past one alarm, not fifty; what remains
(a track broken by a long occlusion) is caught by the node's same-person alarm cooldown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # x, y, width, height in pixels


@dataclass
class Track:
    """A person's face over time: the latest box, its velocity (px per frame) and counters."""

    track_id: int
    box: Box
    first_frame: int
    last_frame: int
    hits: int = 1
    missed: int = 0
    velocity: tuple[float, float] = (0.0, 0.0)

    def predicted(self, frame: int) -> Box:
        gap = frame - self.last_frame
        x, y, w, h = self.box
        return (x + self.velocity[0] * gap, y + self.velocity[1] * gap, w, h)


@dataclass(frozen=True)
class TrackUpdate:
    """The result of one frame: detection index -> track id, tracks started and ended."""

    assigned: dict[int, int]
    started: tuple[int, ...]
    ended: tuple[int, ...]


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def centre_distance(a: Box, b: Box) -> float:
    """Distance of the centres in widths of the larger box (scale-free)."""
    ax, ay = a[0] + a[2] / 2, a[1] + a[3] / 2
    bx, by = b[0] + b[2] / 2, b[1] + b[3] / 2
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / max(a[2], b[2], 1e-6))


@dataclass
class Tracker:
    """Keeps the live tracks of one camera.

    :param min_iou: least overlap with a predicted box for a match by overlap.
    :param max_centre_jump: farthest a face may move between matched frames, in face widths.
    :param max_scale_change: largest ratio between a track's face size and a detection's.
    :param max_missed: frames a track may go unseen before it ends (at 15 fps, 10 is 0.7 s).
    :param velocity_smoothing: weight of the newest motion in the velocity estimate.
    """

    min_iou: float = 0.2
    max_centre_jump: float = 1.2
    max_scale_change: float = 1.6
    max_missed: int = 10
    velocity_smoothing: float = 0.5
    tracks: dict[int, Track] = field(default_factory=dict)
    _next_id: int = 1

    def update(self, frame: int, boxes: Sequence[Box]) -> TrackUpdate:
        pairs: list[tuple[float, int, int]] = []
        for det, box in enumerate(boxes):
            for track in self.tracks.values():
                guess = track.predicted(frame)
                # The longer side: a face cut by the frame's edge keeps its height.
                a, b = max(box[2], box[3]), max(guess[2], guess[3])
                ratio = max(a, b) / max(1e-6, min(a, b))
                if ratio > self.max_scale_change:
                    continue
                overlap = iou(box, guess)
                jump = centre_distance(box, guess)
                if overlap >= self.min_iou:
                    pairs.append((1.0 + overlap, det, track.track_id))
                elif jump <= self.max_centre_jump:
                    pairs.append((1.0 - jump / (self.max_centre_jump + 1e-6), det, track.track_id))
        assigned: dict[int, int] = {}
        taken: set[int] = set()
        for _, det, track_id in sorted(pairs, key=lambda p: -p[0]):
            if det in assigned or track_id in taken:
                continue
            assigned[det] = track_id
            taken.add(track_id)
        for det, track_id in assigned.items():
            self._move(self.tracks[track_id], boxes[det], frame)
        started = []
        for det, box in enumerate(boxes):
            if det not in assigned:
                track = Track(self._next_id, tuple(float(v) for v in box), frame, frame)  # type: ignore[arg-type]
                self._next_id += 1
                self.tracks[track.track_id] = track
                assigned[det] = track.track_id
                started.append(track.track_id)
        ended = []
        for track in list(self.tracks.values()):
            if track.last_frame != frame:
                track.missed = frame - track.last_frame
                if track.missed > self.max_missed:
                    ended.append(track.track_id)
                    del self.tracks[track.track_id]
        return TrackUpdate(assigned, tuple(started), tuple(ended))

    def end_all(self) -> tuple[int, ...]:
        """End every live track (the source ended)."""
        ended = tuple(self.tracks)
        self.tracks.clear()
        return ended

    def _move(self, track: Track, box: Box, frame: int) -> None:
        gap = max(1, frame - track.last_frame)
        vx = (box[0] + box[2] / 2 - track.box[0] - track.box[2] / 2) / gap
        vy = (box[1] + box[3] / 2 - track.box[1] - track.box[3] / 2) / gap
        a = self.velocity_smoothing if track.hits > 1 else 1.0
        track.velocity = (a * vx + (1 - a) * track.velocity[0], a * vy + (1 - a) * track.velocity[1])
        track.box = tuple(float(v) for v in box)  # type: ignore[assignment]
        track.last_frame = frame
        track.hits += 1
        track.missed = 0
