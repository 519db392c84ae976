"""The camera node's pure parts: tracking, the decision over a track's faces, the FPIR threshold,
the face list value, and the alarm's size budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.cctv.decision import AlarmMemory, DecisionPolicy, FaceSample, TrackEvidence, decide, decision_score
from edge.cctv.evidence import AlarmFacts, AlarmImages, build_alarm
from edge.cctv.facelist import FaceListError, FaceListSnapshot, decode_embedding, encode_embedding
from edge.cctv.gallery import EntryHit
from edge.cctv.threshold import OperatingCurve, OperatingPoint, expected_fpir, required_fmr
from edge.cctv.tracker import Tracker
from protocol.cctv import FaceTemplateRecord
from protocol.envelope import MAX_MESSAGE_BYTES


# ------------------------------------------------------------------ tracker

def _walk(x0: float, dx: float, y: float, n: int, w: float = 60.0, start: int = 0):
    return {start + i: (x0 + dx * i, y, w, w * 1.3) for i in range(n)}


def test_two_people_crossing_keep_their_own_tracks() -> None:
    """Without one track per person, one person walking past would raise an alarm per fragment."""
    left = _walk(0, 30, 200, 30)
    right = _walk(900, -30, 400, 30)
    tracker = Tracker()
    ids: dict[str, set[int]] = {"left": set(), "right": set()}
    for frame in range(30):
        boxes = [left[frame], right[frame]]
        update = tracker.update(frame, boxes)
        ids["left"].add(update.assigned[0])
        ids["right"].add(update.assigned[1])
    assert len(ids["left"]) == 1 and len(ids["right"]) == 1 and ids["left"] != ids["right"]


def test_a_track_survives_missed_frames_and_ends_after_max_missed() -> None:
    walk = _walk(0, 20, 300, 20)
    tracker = Tracker(max_missed=4)
    seen = set()
    for frame in range(20):
        boxes = [] if frame in (5, 6, 7) else [walk[frame]]  # the detector missed three frames
        update = tracker.update(frame, boxes)
        seen.update(update.assigned.values())
    assert len(seen) == 1
    ended = []
    for frame in range(20, 26):
        ended += tracker.update(frame, []).ended
    assert ended == list(seen)


def test_a_face_cut_by_the_frame_edge_stays_on_its_track() -> None:
    tracker = Tracker()
    first = tracker.update(0, [(1100, 250, 100, 140)]).assigned[0]
    assert tracker.update(1, [(1180, 252, 60, 140)]).assigned[0] == first


def test_a_far_detection_starts_a_new_track() -> None:
    tracker = Tracker()
    a = tracker.update(0, [(100, 100, 50, 60)]).assigned[0]
    b = tracker.update(1, [(800, 500, 50, 60)]).assigned[0]
    assert a != b


# ------------------------------------------------------------------ decision

POLICY = DecisionPolicy(threshold=0.5, min_votes=2, max_faces=3, embed_gap_frames=1)


def _sample(frame: int, quality: float, *scores: tuple[str, float]) -> FaceSample:
    vector = np.zeros(4, np.float32)
    vector[frame % 4] = 1.0
    hits = tuple(EntryHit(entry, "pencegahan", f"{entry}-t", score) for entry, score in scores)
    return FaceSample(frame, frame * 66, quality, vector, hits)


def test_one_lucky_frame_is_no_alarm() -> None:
    """The decision averages the min_votes best scores: one high frame among low ones is not enough."""
    evidence = TrackEvidence(1, first_frame=0, first_ms=0)
    evidence.add(_sample(0, 0.5, ("E1", 0.9)), POLICY)
    assert decide(evidence, POLICY) is None  # one face: wait for more
    evidence.add(_sample(1, 0.5, ("E1", 0.05)), POLICY)
    assert decide(evidence, POLICY) is None  # mean 0.475 < 0.5
    evidence.add(_sample(2, 0.6, ("E1", 0.08)), POLICY)
    assert decide(evidence, POLICY) is None  # best two: 0.9 and 0.08


def test_an_entry_in_one_face_top_k_is_scored_on_every_face() -> None:
    """A stranger whose face once ranks an entry first must not be judged on that face alone."""
    evidence = TrackEvidence(1, first_frame=0, first_ms=0)
    evidence.add(_sample(0, 0.5, ("E1", 0.9)), POLICY)
    evidence.add(_sample(1, 0.5, ("E2", 0.2)), POLICY)  # E1 not among this face's hits
    assert decide(evidence, POLICY) is None  # E1: 0.9 and -1 (no scorer: unknown counts against)
    scored = decide(evidence, POLICY, scorer=lambda _embedding, entry: {"E1": 0.3, "E2": 0.1}[entry])
    assert scored is not None and scored.entry_id == "E1" and scored.score == pytest.approx(0.6)
    assert scored.frame_scores == (0.9, 0.3)


def test_two_agreeing_faces_alarm_once_per_track() -> None:
    evidence = TrackEvidence(1, first_frame=0, first_ms=0)
    evidence.add(_sample(0, 0.5, ("E1", 0.62), ("E2", 0.2)), POLICY)
    evidence.add(_sample(1, 0.6, ("E1", 0.58), ("E2", 0.1)), POLICY)
    decision = decide(evidence, POLICY)
    assert decision is not None and decision.entry_id == "E1"
    assert decision.score == pytest.approx(0.60) and decision.frame_scores == (0.62, 0.58)
    assert decision.candidates[0] == ("E1", 0.6)
    evidence.alarmed.add("E1")
    evidence.add(_sample(2, 0.7, ("E2", 0.9)), POLICY)
    evidence.add(_sample(3, 0.8, ("E2", 0.9)), POLICY)
    assert decide(evidence, POLICY) is None  # E2 now scores higher, but this person was alarmed once


def test_a_track_that_ends_early_is_decided_on_the_faces_it_has() -> None:
    evidence = TrackEvidence(1, first_frame=0, first_ms=0)
    evidence.add(_sample(0, 0.5, ("E1", 0.7)), POLICY)
    assert decide(evidence, POLICY) is None
    assert decide(evidence, POLICY, final=True).entry_id == "E1"


def test_only_the_best_quality_faces_are_kept() -> None:
    evidence = TrackEvidence(1, first_frame=0, first_ms=0)
    for frame, quality in enumerate([0.2, 0.9, 0.4, 0.8]):
        evidence.add(_sample(frame, quality, ("E1", 0.1)), POLICY)
    assert sorted(s.quality for s in evidence.samples) == [0.4, 0.8, 0.9]
    assert not evidence.wants(0.3, 10, POLICY) and evidence.wants(0.5, 10, POLICY)


def test_decision_score_is_the_mean_of_the_best_votes() -> None:
    assert decision_score([0.2, 0.9, 0.5], 2) == pytest.approx(0.7)
    assert decision_score([0.4], 2) == pytest.approx(0.4)
    assert decision_score([], 2) == float("-inf")


def test_the_same_person_is_not_alarmed_twice_within_the_cooldown() -> None:
    memory = AlarmMemory()
    policy = DecisionPolicy(threshold=0.5, same_person_threshold=0.5, cooldown_ms=60_000)
    me, other = np.array([1, 0, 0], np.float32), np.array([0, 1, 0], np.float32)
    memory.remember("E1", me, 0)
    assert memory.is_repeat("E1", me, 30_000, policy)
    assert not memory.is_repeat("E1", other, 30_000, policy)  # someone else resembling E1
    assert not memory.is_repeat("E2", me, 30_000, policy)
    assert not memory.is_repeat("E1", me, 61_000, policy)  # cooldown over


# ------------------------------------------------------------------ threshold from FPIR

CURVE = OperatingCurve(model="m@1", min_votes=2, points=(OperatingPoint(1e-1, 0.20), OperatingPoint(1e-2, 0.30),
                                                         OperatingPoint(1e-3, 0.40)), tail_mean=0.0, tail_std=0.13)


def test_required_fmr_shrinks_with_the_gallery() -> None:
    assert required_fmr(0.01, 1) == pytest.approx(0.01)
    assert required_fmr(0.01, 1000) == pytest.approx(1.005e-5, rel=1e-3)
    for n in (1, 10, 10_000, 1_000_000):
        assert expected_fpir(required_fmr(0.01, n), n) == pytest.approx(0.01, rel=1e-9)


def test_the_threshold_rises_with_the_gallery_and_is_extrapolated_past_the_data() -> None:
    small = CURVE.for_fpir(0.1, 1)
    assert (small.value, small.extrapolated) == (pytest.approx(0.20), False)
    mid = CURVE.for_fpir(0.1, 10)
    assert mid.value == pytest.approx(0.30, abs=3e-3) and not mid.extrapolated  # FMR 1.05e-2
    between = CURVE.threshold_for_fmr(10 ** -1.5)
    assert between == (pytest.approx(0.25), False)  # log-linear between measured points
    big = CURVE.for_fpir(0.01, 100_000)
    assert big.extrapolated and big.value > 0.40
    assert big.value == pytest.approx(0.13 * 5.199, abs=0.002)  # z(1 - 1.0e-7) of the tail normal


# ------------------------------------------------------------------ face list

def _record(template_id: str, entry: str, value: float) -> FaceTemplateRecord:
    return FaceTemplateRecord(template_id=template_id, entry_id=entry, list="pencegahan",
                              embedding=encode_embedding(np.full(64, value, np.float32)))


def test_a_delta_leads_to_the_same_bytes_as_the_snapshot() -> None:
    """The node checks the digest after a delta; central and node must agree byte for byte."""
    old = FaceListSnapshot(version=1, model="m@1", templates=(_record("t1", "E1", 0.1), _record("t2", "E2", 0.2)))
    new = FaceListSnapshot(version=2, model="m@1", templates=(_record("t3", "E3", 0.3), _record("t1", "E1", 0.1)))
    delta = old.delta_to(new)
    assert [t.template_id for t in delta.added] == ["t3"] and delta.removed == ("t2",)
    assert old.apply(delta).sha256() == new.sha256() == delta.sha256
    with pytest.raises(FaceListError):
        new.apply(delta)  # wrong base version
    assert np.allclose(decode_embedding(new.templates[0].embedding), 0.1)


# ------------------------------------------------------------------ the alarm's size

def test_an_alarm_with_large_pictures_still_fits_one_message() -> None:
    rng = np.random.default_rng(0)
    noise = lambda h, w: rng.integers(0, 255, (h, w, 3), dtype=np.uint8)  # noqa: E731 - incompressible
    facts = AlarmFacts(alarm_id="a" * 32, track_id=3, entry_id="E1", list="pencegahan", template_id="t1",
                       score=0.61, threshold=0.45, target_fpir=0.01, gallery_size=10, frame_scores=(0.62, 0.6),
                       candidates=(("E1", 0.61),), first_seen_ms=1, last_seen_ms=2, frame=7, frames_seen=30,
                       faces_embedded=4, face_watchlist_version=5, model="m@1", probe=np.ones(192, np.float32))
    images = AlarmImages(snapshot=noise(720, 1280), faces=tuple(noise(160, 130) for _ in range(3)),
                         track=tuple((i, noise(150, 150)) for i in range(12)))
    alarm = build_alarm(facts, images)
    assert len(alarm.model_dump_json()) + 1024 <= MAX_MESSAGE_BYTES
    assert alarm.snapshot_jpeg and alarm.face_jpegs  # shrunk, not dropped
    assert len(alarm.track_frames) == len(alarm.track_jpegs)
    assert math.isclose(alarm.score, 0.61)
