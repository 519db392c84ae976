"""Deciding on a track: the best faces of one person, their 1:N scores, and when that is an alarm.

Pure (no I/O, no clock): the node feeds each embedded face of a track with its search results;
:func:`decide` says whether the track now resembles an entry enough. The candidates are the
entries in any kept face's top-k; each candidate is then scored on *every* kept face (a face
where it was not in the top-k is scored through the node's ``scorer``), and the decision score of
a (track, entry) pair is the mean of the entry's ``min_votes`` best scores, so one lucky frame
cannot raise an alarm; a track that ends with fewer faces is decided on those it has. That
statistic is what ``bench/cctv`` fits the threshold on, so the two must not drift.

A track alarms at most once; an alarm lists the other entries it resembled as candidates, so one
person resembling two entries is one alarm for the operator, not two. :class:`AlarmMemory` stops a second alarm for the same
person and entry when the tracker lost them and found them again (an occlusion, a turn away).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .gallery import EntryHit


@dataclass(frozen=True)
class DecisionPolicy:
    """How a track becomes an alarm.

    :param threshold: least decision score for an alarm (cosine; fitted for a target FPIR).
    :param min_votes: faces whose scores are averaged into the decision score.
    :param max_faces: best-quality faces kept (and embedded) per track.
    :param embed_gap_frames: frames between two embeddings of one track, so its faces spread
        over the walk instead of crowding one moment.
    :param same_person_threshold: cosine between two tracks' faces above which they are taken
        for the same person (the embedder's 1:1 threshold).
    :param cooldown_ms: how long an alarm for a person and entry silences the same pair.
    """

    threshold: float
    min_votes: int = 2
    max_faces: int = 5
    embed_gap_frames: int = 2
    same_person_threshold: float = 0.4
    cooldown_ms: int = 120_000

    def __post_init__(self) -> None:
        if self.min_votes < 1 or self.max_faces < self.min_votes:
            raise ValueError("need 1 <= min_votes <= max_faces")


@dataclass(frozen=True)
class FaceSample:
    """One embedded face of a track: where, how good, its template and its 1:N results.

    ``scores`` caches the face's score for each entry scored so far (its hits to begin with).
    """

    frame: int
    at_ms: int
    quality: float
    embedding: np.ndarray
    hits: tuple[EntryHit, ...]
    scores: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for hit in self.hits:
            self.scores.setdefault(hit.entry_id, hit.score)


# The score of a face (its embedding) against one entry (its best template).
Scorer = Callable[[np.ndarray, str], float]


@dataclass
class TrackEvidence:
    """What the node knows about one track: its kept faces and the entries it already alarmed."""

    track_id: int
    first_frame: int
    first_ms: int
    last_frame: int = 0
    last_ms: int = 0
    frames_seen: int = 0
    last_embed_frame: int = -10**9
    samples: list[FaceSample] = field(default_factory=list)
    alarmed: set[str] = field(default_factory=set)

    def seen(self, frame: int, at_ms: int) -> None:
        self.frames_seen += 1
        self.last_frame, self.last_ms = frame, at_ms

    def wants(self, quality: float, frame: int, policy: DecisionPolicy) -> bool:
        """Is a face of this quality, now, worth embedding?"""
        if frame - self.last_embed_frame < policy.embed_gap_frames:
            return False
        if len(self.samples) < policy.max_faces:
            return True
        return quality > min(s.quality for s in self.samples)

    def add(self, sample: FaceSample, policy: DecisionPolicy) -> None:
        self.last_embed_frame = sample.frame
        self.samples.append(sample)
        if len(self.samples) > policy.max_faces:
            self.samples.remove(min(self.samples, key=lambda s: s.quality))

    def probe(self) -> np.ndarray:
        """The track's template: the normalised mean of its kept faces."""
        mean = np.mean([s.embedding for s in self.samples], axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

    @property
    def best(self) -> FaceSample:
        return max(self.samples, key=lambda s: s.quality)


@dataclass(frozen=True)
class Decision:
    """A track resembles ``entry`` enough: the alarm's facts, before any image is attached."""

    track_id: int
    entry_id: str
    list: str
    template_id: str
    score: float
    frame_scores: tuple[float, ...]
    candidates: tuple[tuple[str, float], ...]  # (entry id, decision score), best first


def decision_score(scores: Sequence[float], min_votes: int) -> float:
    """Mean of the *min_votes* best scores (fewer when there are fewer)."""
    best = sorted(scores, reverse=True)[:min_votes]
    return float(np.mean(best)) if best else float("-inf")


def entry_scores(samples: Sequence[FaceSample], scorer: Scorer | None = None
                 ) -> dict[str, tuple[list[float], EntryHit]]:
    """Per candidate entry (in any face's hits): its score in every face, and its best hit.
    Without a *scorer*, a face where the entry was not a hit votes -1 (it counts against it)."""
    best: dict[str, EntryHit] = {}
    for sample in samples:
        for hit in sample.hits:
            if hit.entry_id not in best or hit.score > best[hit.entry_id].score:
                best[hit.entry_id] = hit
    out: dict[str, tuple[list[float], EntryHit]] = {}
    for entry, hit in best.items():
        scores = []
        for sample in samples:
            if entry not in sample.scores and scorer is not None:
                sample.scores[entry] = scorer(sample.embedding, entry)
            scores.append(sample.scores.get(entry, -1.0))
        out[entry] = (scores, hit)
    return out


def decide(evidence: TrackEvidence, policy: DecisionPolicy, *, final: bool = False,
           scorer: Scorer | None = None) -> Decision | None:
    """The alarm this track raises now, or None. Before the track has ``min_votes`` faces only
    a finished track (*final*) is decided, on what it has."""
    if evidence.alarmed or not evidence.samples or (len(evidence.samples) < policy.min_votes and not final):
        return None
    ranked = sorted(
        ((decision_score(scores, policy.min_votes), entry, scores, best)
         for entry, (scores, best) in entry_scores(evidence.samples, scorer).items()),
        key=lambda item: -item[0],
    )
    for score, entry, scores, best in ranked:
        if score < policy.threshold:
            break
        if entry in evidence.alarmed:
            continue
        return Decision(
            track_id=evidence.track_id, entry_id=entry, list=best.list, template_id=best.template_id,
            score=score, frame_scores=tuple(round(s, 4) for s in sorted(scores, reverse=True)),
            candidates=tuple((e, round(s, 4)) for s, e, _, _ in ranked[:5]),
        )
    return None


@dataclass
class AlarmMemory:
    """Recent alarms of one camera: (entry, the track's template, when)."""

    recent: list[tuple[str, np.ndarray, int]] = field(default_factory=list)

    def is_repeat(self, entry_id: str, probe: np.ndarray, now_ms: int, policy: DecisionPolicy) -> bool:
        self.recent = [r for r in self.recent if now_ms - r[2] <= policy.cooldown_ms]
        return any(entry == entry_id and float(probe @ old) >= policy.same_person_threshold
                   for entry, old, _ in self.recent)

    def remember(self, entry_id: str, probe: np.ndarray, now_ms: int) -> None:
        self.recent.append((entry_id, probe, now_ms))
