"""PAD: challenge-response, 3-D motion (parallax) and recapture texture, on simulated bursts built
from the committed portraits (bench/face/attacks.py)."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from bench.face.attacks import (
    camera,
    frames_for,
    landmark_track,
    simulate_print,
    simulate_screen,
)
from edge.face.liveness import (
    Challenge,
    LivenessFrame,
    LivenessPolicy,
    assess_liveness,
    face_texture,
    parallax,
    pick_challenge,
    texture_score,
)


@pytest.fixture(scope="module")
def faces(engine, portraits):
    """Each portrait cut to its face (simulating a print costs in proportion to the area)."""
    out = {}
    for name, img in portraits.items():
        x, y, w, h = engine.primary_face(img).box
        x0, y0 = int(max(0, x - 0.1 * w)), int(max(0, y - 0.1 * h))
        crop = img[y0:int(y + 1.1 * h), x0:int(x + 1.1 * w)]
        out[name] = (crop, (x - x0, y - y0, w, h))
    return out


def _textures(faces, name, sim, seed=0, n=6, distinct=2):
    rng = np.random.default_rng(seed)
    crop, box = faces[name]
    shots = [face_texture(sim(crop, rng), box) for _ in range(min(n, distinct))]
    return [shots[k % len(shots)] for k in range(n)]


@pytest.mark.parametrize("challenge", list(Challenge))
def test_live_burst_doing_what_was_asked_passes(faces, challenge):
    rng = np.random.default_rng(3)
    tex = _textures(faces, "obama", camera)
    frames = frames_for("live", challenge, tex, rng, blinks=challenge == Challenge.BLINK)
    result = assess_liveness(frames, challenge)
    assert result.passed, result


@pytest.mark.parametrize("asked, done", [(Challenge.TURN_LEFT, Challenge.TURN_RIGHT),
                                         (Challenge.TURN_RIGHT, Challenge.TURN_LEFT),
                                         (Challenge.BLINK, Challenge.TURN_LEFT)])
def test_doing_something_else_fails_the_challenge(faces, asked, done):
    rng = np.random.default_rng(4)
    frames = frames_for("live", done, _textures(faces, "biden", camera), rng, blinks=False)
    assert assess_liveness(frames, asked).reasons == ("challenge_not_met",)


@pytest.mark.parametrize("kind", ["still", "flat"])
def test_a_photo_held_still_or_turned_cannot_show_a_head_turn(faces, kind):
    rng = np.random.default_rng(5)
    frames = frames_for(kind, Challenge.TURN_LEFT, _textures(faces, "astronaut", camera), rng, blinks=False)
    assert "challenge_not_met" in assess_liveness(frames, Challenge.TURN_LEFT).reasons


def test_parallax_separates_a_head_from_a_planar_photo():
    rng = np.random.default_rng(6)
    live = landmark_track("live", Challenge.TURN_RIGHT, rng, frames=8)
    # A photo of a turned head, then moved in perspective: every frame is one homography away.
    photo = live[4]
    planar = [photo]
    for k in range(1, 8):
        src = np.float32([[0, 0], [640, 0], [640, 480], [0, 480]])
        dst = src + rng.normal(0, 6 * k, src.shape).astype(np.float32)
        h = cv2.getPerspectiveTransform(src, dst)
        planar.append(cv2.perspectiveTransform(photo[None], h)[0])
    mk = lambda pts: [LivenessFrame(p, 0.5, np.zeros((8, 8), np.uint8)) for p in pts]
    assert parallax(mk(live), 10.0) > LivenessPolicy().min_parallax_ied
    assert parallax(mk([live[0], *planar]), 10.0) > LivenessPolicy().min_parallax_ied  # a photo swap is 3-D
    assert parallax(mk(planar), 0.0) < 0.02


@pytest.mark.parametrize("name", ["obama", "obama3", "astronaut"])
def test_recaptured_faces_score_above_the_texture_threshold(faces, name):
    limit = LivenessPolicy().max_texture_score
    score = lambda sim: np.median([texture_score(t) for t in _textures(faces, name, sim, n=2)])
    assert score(camera) < limit
    assert score(simulate_print) > limit
    assert score(simulate_screen) > limit


def test_replayed_video_of_the_right_action_is_caught_by_texture(faces):
    rng = np.random.default_rng(8)
    frames = frames_for("live", Challenge.TURN_LEFT, _textures(faces, "obama", simulate_screen), rng, blinks=False)
    result = assess_liveness(frames, Challenge.TURN_LEFT)
    assert result.reasons == ("recapture_texture",)


def test_too_few_frames_and_random_challenges():
    frame = LivenessFrame(np.zeros((5, 2), np.float32), 0.5, np.zeros((128, 128), np.uint8))
    assert assess_liveness([frame, frame], Challenge.BLINK).reasons == ("too_few_frames",)
    picked = {pick_challenge(random.Random(seed)) for seed in range(30)}
    assert picked == set(Challenge)
