"""The camera node's frame loop: detect, track, keep the best faces, embed, search 1:N, decide.

``CameraNode.process(frame)`` does one frame and returns the alarms it raised; whoever runs the
node (the CLI, the MQTT service, a bench) reads frames from a source and sends the alarms on.
Per frame: faces are detected on the whole frame; each is matched to a track; each track's face
is aligned and its quality measured (cheap), and only a face good enough and better than the
track's kept ones is embedded and searched (the expensive part), at most one per track every
few frames. The track is decided on its kept faces (``decision.decide``); an alarm carries the
scene, the best face crops and a few frames of the track.

The gallery can be swapped while the node runs (a new face list arrived): the threshold is set
again for the new gallery size, because the FPIR target is per search of the whole gallery.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edge.face import FaceEngine, QualityPolicy
from edge.face.align import align
from edge.face.quality import assess
from edge.face.types import Face

from .decision import AlarmMemory, Decision, DecisionPolicy, FaceSample, TrackEvidence, decide
from .evidence import AlarmFacts, AlarmImages, crop, scene
from .gallery import WatchlistGallery
from .threshold import Threshold
from .tracker import Tracker

log = logging.getLogger(__name__)

# Camera faces are smaller and less frontal than a gate's: the gate's policy would refuse most.
CCTV_QUALITY = QualityPolicy(min_inter_eye_px=16, min_sharpness=8, max_yaw_deg=35, max_pitch_deg=30,
                             max_roll_deg=25, min_brightness=35, max_brightness=230, min_contrast=12,
                             max_light_imbalance=0.6, min_eye_openness=0.04)
ThresholdRule = Callable[[int], Threshold]
# The camera's embedder: MobileFaceNet alone. The gate's pipeline (two embedders fused, with flip
# test-time augmentation) costs several times more per face, and a camera embeds many faces a
# second; the operating curve (models/face/cctv_operating_points.json) is fitted for this one.
DEFAULT_EMBEDDER = "face-mobilefacenet"
# Called with (track id, the face sample, its box) for every face embedded: the evaluation bench
# records what the node saw, to replay the decision against other galleries and thresholds.
EmbeddedHook = Callable[[int, FaceSample, tuple[float, float, float, float]], None]


@dataclass(frozen=True)
class NodeConfig:
    """How one camera node works.

    :param camera_id: the camera's id (alarms, logs).
    :param policy: the decision rule; its ``threshold`` is replaced by ``threshold_rule``'s.
    :param quality: the quality a face needs to be embedded.
    :param min_face_px: narrower detections are ignored (nobody can be recognised that small).
    :param search_k: entries kept per face from the 1:N search.
    :param thumb_every: frames between two head-and-shoulders crops of a track.
    :param max_thumbs: crops kept per track (spread over the walk).
    :param alarm_delay_frames: after a track first qualifies, frames it may gather more faces
        and frames before the alarm goes out (sooner when its faces are complete or it ends):
        the operator gets a better-founded alarm with more of the walk, about half a second later.
    """

    camera_id: str = "camera"
    policy: DecisionPolicy = field(default_factory=lambda: DecisionPolicy(threshold=0.5))
    quality: QualityPolicy = CCTV_QUALITY
    min_face_px: float = 20.0
    search_k: int = 3
    thumb_every: int = 4
    max_thumbs: int = 16
    alarm_delay_frames: int = 8


@dataclass
class NodeStats:
    frames: int = 0
    faces: int = 0
    embedded: int = 0
    tracks: int = 0
    alarms: int = 0
    repeats_suppressed: int = 0


@dataclass
class _TrackMedia:
    crops: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> face crop of kept samples
    thumbs: list[tuple[int, np.ndarray]] = field(default_factory=list)
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    scene: np.ndarray | None = None  # the frame of the best face, boxed and shrunk
    qualified_at: int | None = None  # frame at which the track first reached the threshold


class CameraNode:
    """One camera's recognition state. Not thread-safe for ``process``; ``set_gallery`` may be
    called from another thread (the face-list sync)."""

    def __init__(self, engine: FaceEngine, gallery: WatchlistGallery, *, threshold_rule: ThresholdRule,
                 config: NodeConfig | None = None, on_embedded: EmbeddedHook | None = None) -> None:
        self.engine = engine
        self._on_embedded = on_embedded
        self.config = config or NodeConfig()
        self.tracker = Tracker()
        self.stats = NodeStats()
        self._memory = AlarmMemory()
        self._evidence: dict[int, TrackEvidence] = {}
        self._media: dict[int, _TrackMedia] = {}
        self._threshold_rule = threshold_rule
        self._lock = threading.Lock()
        self._gallery = gallery
        self.threshold = threshold_rule(len(gallery))
        self._policy = self._policy_for(self.threshold)

    # ------------------------------------------------------------------ gallery

    @property
    def gallery(self) -> WatchlistGallery:
        return self._gallery

    def set_gallery(self, gallery: WatchlistGallery) -> None:
        """Search *gallery* from the next frame on, with the threshold for its size."""
        threshold = self._threshold_rule(len(gallery))
        with self._lock:
            self._gallery, self.threshold, self._policy = gallery, threshold, self._policy_for(threshold)
        log.info("camera %s: face list version %d, %d templates of %d entries, threshold %.4f%s",
                 self.config.camera_id, gallery.version, len(gallery), gallery.entries, threshold.value,
                 " (extrapolated below the measured FMR)" if threshold.extrapolated else "")

    def _policy_for(self, threshold: Threshold) -> DecisionPolicy:
        p = self.config.policy
        return DecisionPolicy(threshold=threshold.value, min_votes=p.min_votes, max_faces=p.max_faces,
                              embed_gap_frames=p.embed_gap_frames, same_person_threshold=p.same_person_threshold,
                              cooldown_ms=p.cooldown_ms)

    # ------------------------------------------------------------------ frames

    def process(self, index: int, at_ms: int, image: np.ndarray) -> list[tuple[AlarmFacts, AlarmImages]]:
        """Handle one frame; the alarms it raised (facts and pictures)."""
        with self._lock:
            gallery, policy, threshold = self._gallery, self._policy, self.threshold
        self.stats.frames += 1
        faces = [f for f in self.engine.detect(image) if f.box[2] >= self.config.min_face_px]
        self.stats.faces += len(faces)
        update = self.tracker.update(index, [f.box for f in faces])
        for track_id in update.started:
            self._evidence[track_id] = TrackEvidence(track_id, first_frame=index, first_ms=at_ms)
            self._media[track_id] = _TrackMedia()
            self.stats.tracks += 1
        alarms = []
        for det, track_id in update.assigned.items():
            evidence, media = self._evidence[track_id], self._media[track_id]
            face = faces[det]
            evidence.seen(index, at_ms)
            media.box = face.box
            if (index - evidence.first_frame) % self.config.thumb_every == 0:
                self._keep_thumb(media, index, crop(image, face.box, margin=0.8, max_side_px=160))
            embedded = len(gallery) > 0 and self._consider(evidence, media, face, image, index, at_ms, gallery, policy)
            if not embedded and media.qualified_at is None:
                continue
            decision = decide(evidence, policy, scorer=gallery.entry_score)
            if decision is None:
                continue
            if media.qualified_at is None:
                media.qualified_at = index
            complete = len(evidence.samples) >= policy.max_faces
            if complete or index - media.qualified_at >= self.config.alarm_delay_frames:
                media.qualified_at = None
                raised = self._raise(evidence, media, decision, gallery, threshold, policy)
                if raised is not None:
                    alarms.append(raised)
        for track_id in update.ended:
            alarms.extend(self._end(track_id, gallery, threshold, policy))
        return alarms

    def finish(self) -> list[tuple[AlarmFacts, AlarmImages]]:
        """The source ended: decide every live track on what it has."""
        with self._lock:
            gallery, policy, threshold = self._gallery, self._policy, self.threshold
        alarms = []
        for track_id in self.tracker.end_all():
            alarms.extend(self._end(track_id, gallery, threshold, policy))
        return alarms

    # ------------------------------------------------------------------ helpers

    def _consider(self, evidence: TrackEvidence, media: _TrackMedia, face: Face, image: np.ndarray, index: int,
                  at_ms: int, gallery: WatchlistGallery, policy: DecisionPolicy) -> bool:
        """Embed and search this face if it is good enough and wanted; True when it was."""
        aligned = align(image, face.landmarks)
        quality = assess(face, aligned, self.config.quality)
        if quality.reasons or not evidence.wants(quality.score, index, policy):
            return False
        embedding = self.engine.embedder.embed_face(image, face.landmarks, aligned)
        self.stats.embedded += 1
        hits = tuple(gallery.search(embedding, self.config.search_k))
        best_before = max((s.quality for s in evidence.samples), default=-1.0)
        sample = FaceSample(index, at_ms, quality.score, embedding, hits)
        evidence.add(sample, policy)
        if self._on_embedded is not None:
            self._on_embedded(evidence.track_id, sample, face.box)
        media.crops[index] = crop(image, face.box, margin=0.35, max_side_px=160)
        if quality.score > best_before:
            media.scene = scene(image, face.box)
        kept = {s.frame for s in evidence.samples}
        for frame in [f for f in media.crops if f not in kept]:
            del media.crops[frame]
        return True

    def _keep_thumb(self, media: _TrackMedia, index: int, thumb: np.ndarray) -> None:
        media.thumbs.append((index, thumb))
        if len(media.thumbs) > self.config.max_thumbs:
            media.thumbs = media.thumbs[::2]  # keep the walk's whole span, half as dense

    def _raise(self, evidence: TrackEvidence, media: _TrackMedia, decision: Decision, gallery: WatchlistGallery, threshold: Threshold, policy: DecisionPolicy
               ) -> tuple[AlarmFacts, AlarmImages] | None:
        evidence.alarmed.add(decision.entry_id)
        probe = evidence.probe()
        if self._memory.is_repeat(decision.entry_id, probe, evidence.last_ms, policy):
            self.stats.repeats_suppressed += 1
            log.info("camera %s: track %d is the same person as a recent alarm for %s; not raised again",
                     self.config.camera_id, evidence.track_id, decision.entry_id)
            return None
        self._memory.remember(decision.entry_id, probe, evidence.last_ms)
        self.stats.alarms += 1
        best = sorted(evidence.samples, key=lambda s: -s.quality)
        facts = AlarmFacts(
            alarm_id=uuid.uuid4().hex, track_id=evidence.track_id, entry_id=decision.entry_id, list=decision.list,
            template_id=decision.template_id, score=decision.score, threshold=threshold.value,
            target_fpir=threshold.target_fpir, gallery_size=len(gallery), frame_scores=decision.frame_scores,
            candidates=decision.candidates, first_seen_ms=evidence.first_ms, last_seen_ms=evidence.last_ms,
            frame=best[0].frame, frames_seen=evidence.frames_seen, faces_embedded=len(evidence.samples),
            face_watchlist_version=gallery.version, model=gallery.model, probe=probe,
        )
        images = AlarmImages(
            snapshot=media.scene,
            faces=tuple(media.crops[s.frame] for s in best[:3] if s.frame in media.crops),
            track=tuple(media.thumbs),
        )
        log.warning("camera %s: ALARM track %d entry %s (%s) score %.4f >= %.4f over %d faces",
                    self.config.camera_id, evidence.track_id, decision.entry_id, decision.list, decision.score,
                    threshold.value, len(evidence.samples))
        return facts, images

    def _end(self, track_id: int, gallery: WatchlistGallery, threshold: Threshold, policy: DecisionPolicy) -> list[tuple[AlarmFacts, AlarmImages]]:
        evidence = self._evidence.pop(track_id, None)
        media = self._media.pop(track_id, None)
        if evidence is None or media is None or not evidence.samples:
            return []
        decision = decide(evidence, policy, final=True, scorer=gallery.entry_score)
        if decision is None:
            return []
        raised = self._raise(evidence, media, decision, gallery, threshold, policy)
        return [raised] if raised is not None else []
