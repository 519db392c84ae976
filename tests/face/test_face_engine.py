"""Real ONNX inference on the committed models: detection, alignment, quality and 1:1."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.face import BadImage, CaptureRefused, NoFaceFound
from edge.face.align import TEMPLATE_112, similarity_transform


def test_detects_exactly_one_face_with_landmarks_inside_the_box(engine, portraits):
    for name, image in portraits.items():
        faces = engine.detect(image)
        assert len(faces) == 1, name
        x, y, w, h = faces[0].box
        lm = faces[0].landmarks
        assert faces[0].score > 0.6
        assert np.all((lm[:, 0] > x) & (lm[:, 0] < x + w) & (lm[:, 1] > y) & (lm[:, 1] < y + h)), name
        # Eyes above nose above mouth, left eye left of right eye.
        assert lm[0, 0] < lm[1, 0] and lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min(), name


def test_detection_follows_the_face_when_the_image_is_shifted(engine, portraits):
    image = portraits["obama"]
    base = engine.primary_face(image)
    # Padding only the short side keeps the detector's scale, so the shift must be exact-ish.
    assert image.shape[1] - image.shape[0] == 30
    padded = cv2.copyMakeBorder(image, 30, 0, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    moved = engine.primary_face(padded)
    assert np.allclose(moved.landmarks - base.landmarks, [0, 30], atol=1.5)


def test_same_person_matches_and_different_people_do_not(engine, portraits):
    t = {name: engine.template(img) for name, img in portraits.items()}
    for a, b in [("obama", "obama2"), ("obama", "obama3"), ("obama2", "obama3")]:
        v = engine.verify(t[a], t[b])
        assert v.match and v.score > v.threshold + 0.1, (a, b, v)
    for a, b in [("obama", "biden"), ("obama2", "astronaut"), ("biden", "astronaut")]:
        v = engine.verify(t[a], t[b])
        assert not v.match and v.score < v.threshold - 0.1, (a, b, v)


def test_embedding_is_unit_length_and_stable_under_mild_changes(engine, portraits):
    image = portraits["biden"]
    e1 = engine.embed(image)
    e2 = engine.embed(cv2.convertScaleAbs(image, alpha=1.1, beta=8))
    assert abs(np.linalg.norm(e1) - 1) < 1e-5
    assert float(e1 @ e2) > 0.85


def test_verify_accepts_images_embeddings_and_reports_threshold(engine, portraits):
    enrolled = engine.embed(portraits["obama"])
    v = engine.verify(portraits["obama2"], enrolled)
    assert v.match
    assert v.threshold == engine.threshold
    assert v.target_fmr == pytest.approx(0.0005)
    looser = engine.verify(portraits["obama2"], enrolled, target_fmr=0.001)
    assert looser.threshold <= v.threshold


def test_alignment_puts_landmarks_on_the_template(engine, portraits):
    face = engine.primary_face(portraits["astronaut"])
    m = similarity_transform(face.landmarks, TEMPLATE_112)
    mapped = face.landmarks @ m[:, :2].T + m[:, 2]
    # Five points, four parameters: the fit is close but not exact on a real face.
    assert np.sqrt(((mapped - TEMPLATE_112) ** 2).sum(1)).mean() < 4.0


def test_blank_image_has_no_face(engine):
    with pytest.raises(NoFaceFound):
        engine.template(np.full((240, 320, 3), 128, np.uint8))


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((50, 50, 3), np.float32), "x.jpg"])
def test_rejects_what_is_not_a_bgr_image(engine, bad):
    with pytest.raises(BadImage):
        engine.detect(bad)


def test_good_capture_is_accepted(engine, portraits):
    assert engine.capture(portraits["obama"]).quality.reasons == ()


@pytest.mark.parametrize("transform, reason", [
    (lambda im: cv2.resize(im, None, fx=0.45, fy=0.45, interpolation=cv2.INTER_AREA), "too_small"),
    (lambda im: cv2.GaussianBlur(im, (0, 0), 3.0), "blurred"),
    (lambda im: cv2.convertScaleAbs(im, alpha=0.25, beta=0), "too_dark"),
    (lambda im: cv2.convertScaleAbs(im, alpha=1.0, beta=150), "too_bright"),
    (lambda im: cv2.warpAffine(im, cv2.getRotationMatrix2D((144, 144), 35, 1.0), (288, 288)), "pose_roll"),
])
def test_poor_capture_is_refused_with_its_reason(engine, portraits, transform, reason):
    image = transform(portraits["obama"])
    with pytest.raises(CaptureRefused) as info:
        engine.capture(image)
    assert reason in info.value.reasons


@pytest.mark.parametrize("name", ["obama", "obama2", "astronaut"])
def test_eyes_painted_shut_are_flagged(engine, portraits, name):
    image = portraits[name].copy()
    face = engine.primary_face(image)
    skin = image[int(face.landmarks[2, 1]), int(face.landmarks[2, 0]) - 12]
    for x, y in face.landmarks[:2]:
        r = int(face.inter_eye_px * 0.25)
        cv2.ellipse(image, (int(x), int(y)), (r, r // 2 + 2), 0, 0, 360, tuple(int(c) for c in skin), -1)
    assert "eyes_closed" in engine.quality(image).reasons
    assert "eyes_closed" not in engine.quality(portraits[name]).reasons


def test_every_refusal_reason_has_a_traveler_instruction(engine, portraits):
    from edge.face.align import align
    from edge.face.quality import REASON_TEXT, QualityPolicy, assess

    strict = QualityPolicy(min_inter_eye_px=400, min_sharpness=1e9, max_yaw_deg=1e-3, max_pitch_deg=1e-3,
                           max_roll_deg=1e-3, min_brightness=255, max_brightness=0, min_contrast=1e9,
                           max_light_imbalance=0, min_eye_openness=1)
    face = engine.primary_face(portraits["obama"])
    reasons = assess(face, align(portraits["obama"], face.landmarks), strict).reasons
    assert len(reasons) == 10
    assert set(reasons) | {"no_face"} == set(REASON_TEXT)
