"""The camera node on synthetic walk-past sequences, with the real detector and embedder: the
listed person passing raises one alarm with its pictures, people not on the list raise none, and
``autogate cctv run --gallery DIR --source PATH --json`` prints the issue's JSON lines."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from cctv_support import gallery_folder, walk_past

from edge.cctv.cli import main
from edge.cctv.evidence import build_alarm
from edge.cctv.gallery import WatchlistGallery, gallery_from_folder
from edge.cctv.node import CameraNode, NodeConfig
from edge.cctv.source import FolderSource, SourceError, VideoFileSource, open_source
from edge.cctv.threshold import Threshold
from simulators.cctv_feed import write_frames, write_video

# A fixed threshold between the listed person's scores (about 0.7 here) and strangers' (under 0.2).
THRESHOLD = 0.45


def _fixed(size: int) -> Threshold:
    return Threshold(THRESHOLD, None, size, None, False, "fixed")


def _gallery(engine, portraits, entries: dict[str, str]) -> WatchlistGallery:
    gallery = WatchlistGallery(engine.dimension, model=engine.model_tag, version=3)
    keys = [(f"t-{entry}", entry, "pencegahan") for entry in entries]
    gallery.add_many(keys, np.stack([engine.template(portraits[name]).embedding for name in entries.values()]))
    return gallery


def _run(node: CameraNode, scene) -> tuple[list, list]:
    raised, truth = [], []
    for frame in scene.frames():
        raised += node.process(frame.index, frame.index * 66, frame.image)
        truth.append(frame.truth)
    return raised + node.finish(), truth


def test_the_listed_person_walking_past_raises_one_alarm_with_its_pictures(cctv_engine, portraits, face_boxes):
    gallery = _gallery(cctv_engine, portraits, {"E-OBAMA": "obama", "E-BIDEN": "biden"})
    node = CameraNode(cctv_engine, gallery, threshold_rule=_fixed, config=NodeConfig(camera_id="cam-t1"))
    raised, _ = _run(node, walk_past(portraits, face_boxes, ["obama2", "astronaut"]))
    assert [facts.entry_id for facts, _ in raised] == ["E-OBAMA"]
    facts, images = raised[0]
    assert facts.score >= THRESHOLD and facts.threshold == THRESHOLD and facts.list == "pencegahan"
    assert facts.faces_embedded >= 2 and len(facts.frame_scores) >= 2 and facts.face_watchlist_version == 3
    assert facts.candidates[0][0] == "E-OBAMA" and facts.template_id == "t-E-OBAMA"
    assert images.snapshot is not None and 1 <= len(images.faces) <= 3 and len(images.track) >= 3
    assert abs(float(np.linalg.norm(facts.probe)) - 1.0) < 1e-4
    assert node.stats.tracks == 2  # one per person, not one per frame or per glance
    wire = build_alarm(facts, images)
    assert wire.entry_id == "E-OBAMA" and wire.face_jpegs and wire.snapshot_jpeg.startswith(b"\xff\xd8")
    assert cv2.imdecode(np.frombuffer(wire.face_jpegs[0], np.uint8), cv2.IMREAD_COLOR) is not None


def test_people_not_on_the_list_raise_nothing(cctv_engine, portraits, face_boxes):
    gallery = _gallery(cctv_engine, portraits, {"E-OBAMA": "obama"})
    node = CameraNode(cctv_engine, gallery, threshold_rule=_fixed)
    raised, truth = _run(node, walk_past(portraits, face_boxes, ["biden", "astronaut"]))
    assert raised == []
    assert node.stats.embedded >= 4  # they were searched, not missed
    assert any(len(t) == 2 for t in truth)  # both in view at once


def test_the_same_person_passing_twice_in_quick_succession_is_one_alarm(cctv_engine, portraits, face_boxes):
    """Re-tracked after a gap (or walking back), the same person within the cooldown stays one alarm."""
    gallery = _gallery(cctv_engine, portraits, {"E-OBAMA": "obama"})
    node = CameraNode(cctv_engine, gallery, threshold_rule=_fixed)
    raised, _ = _run(node, walk_past(portraits, face_boxes, ["obama2", "obama3"], stagger=45))
    assert len(raised) == 1 and node.stats.tracks == 2 and node.stats.repeats_suppressed == 1


def test_a_new_gallery_takes_effect_with_the_threshold_for_its_size(cctv_engine, portraits, face_boxes):
    sizes = []

    def rule(size: int) -> Threshold:
        sizes.append(size)
        return Threshold(THRESHOLD + 0.001 * size, 0.01, size, 1e-3, False, "curve")

    empty = WatchlistGallery(cctv_engine.dimension, model=cctv_engine.model_tag)
    node = CameraNode(cctv_engine, empty, threshold_rule=rule)
    node.set_gallery(_gallery(cctv_engine, portraits, {"E-OBAMA": "obama", "E-BIDEN": "biden"}))
    assert sizes == [0, 2] and node.threshold.value == pytest.approx(THRESHOLD + 0.002)
    raised, _ = _run(node, walk_past(portraits, face_boxes, ["obama2"]))
    assert raised[0][0].gallery_size == 2 and raised[0][0].target_fpir == 0.01


# ------------------------------------------------------------------ sources and the CLI

def test_sources_read_folders_and_videos_and_skip_bad_frames(portraits, face_boxes, tmp_path):
    scene = walk_past(portraits, face_boxes, ["obama2"], frames=12)
    folder = tmp_path / "frames"
    assert write_frames(scene.frames(), folder) == 12
    (folder / "frame_000005.jpg").write_bytes(b"not a jpeg")  # a damaged file in the middle
    source = open_source(str(folder), fps=10, start_ms=1000)
    assert isinstance(source, FolderSource)
    frames = list(source.frames(threading.Event()))
    assert [f.index for f in frames] == [i for i in range(12) if i != 5] and source.skipped == 1
    assert frames[1].at_ms == 1100
    video = tmp_path / "walk.avi"
    assert write_video(walk_past(portraits, face_boxes, ["obama2"], frames=12).frames(), video) == 12
    source = open_source(str(video), start_ms=0)
    assert isinstance(source, VideoFileSource)
    assert len(list(source.frames(threading.Event()))) == 12
    source.close()
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "missing.mp4"))


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("as_video", [False, True], ids=["frames", "video"])
def test_cli_prints_one_line_per_alarm_and_a_summary(portraits, face_boxes, tmp_path, capsys, as_video):
    gallery = gallery_folder(tmp_path / "gallery", {"OBAMA": ["obama"], "BIDEN": ["biden"]})
    scene = walk_past(portraits, face_boxes, ["obama2", "astronaut"])
    if as_video:
        source = tmp_path / "walk.avi"
        write_video(scene.frames(), source)
    else:
        source = tmp_path / "frames"
        write_frames(scene.frames(), source)
    status = main(["run", "--gallery", str(gallery), "--source", str(source), "--json", "--threshold", str(THRESHOLD)])
    lines = _json_lines(capsys.readouterr().out)
    assert status == 0
    alarm, summary = lines
    assert set(alarm) == {"track", "identity", "score", "frame"} and alarm["identity"] == "OBAMA"
    assert alarm["score"] >= THRESHOLD and 0 <= alarm["frame"] < scene.length
    assert set(summary) == {"frames", "tracks", "alarms", "fps"}
    assert summary["frames"] == scene.length and summary["tracks"] == 2 and summary["alarms"] == 1
    assert summary["fps"] > 0


def test_cli_sets_the_threshold_from_the_fpir_on_the_fitted_curve(portraits, face_boxes, tmp_path, capsys):
    gallery = gallery_folder(tmp_path / "gallery", {"OBAMA": ["obama"]})
    source = tmp_path / "frames"
    write_frames(walk_past(portraits, face_boxes, ["obama2"]).frames(), source)
    assert main(["run", "--gallery", str(gallery), "--source", str(source), "--json", "--target-fpir", "0.01"]) == 0
    alarm, summary = _json_lines(capsys.readouterr().out)
    assert alarm["identity"] == "OBAMA" and summary["alarms"] == 1


def test_cli_reports_bad_gallery_photos_and_refuses_an_empty_gallery(tmp_path, capsys, portraits):
    empty = tmp_path / "gallery" / "NOBODY"
    empty.mkdir(parents=True)
    (empty / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    cv2.imwrite(str(empty / "wall.jpg"), np.full((200, 200, 3), 128, np.uint8))
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "f1.jpg"), portraits["obama2"])
    status = main(["run", "--gallery", str(tmp_path / "gallery"), "--source", str(frames), "--json",
                   "--threshold", "0.5"])
    err = capsys.readouterr().err
    assert status == 1 and "broken.jpg: unreadable image" in err and "wall.jpg" in err and "no usable photo" in err
    assert main(["run", "--gallery", str(tmp_path / "gallery"), "--source", str(tmp_path / "nothing"),
                 "--json", "--threshold", "0.5"]) == 2


def test_gallery_from_folder_has_one_entry_per_folder(cctv_engine, tmp_path):
    folder = gallery_folder(tmp_path / "g", {"OBAMA": ["obama", "obama3"], "BIDEN": ["biden"]})
    gallery, problems = gallery_from_folder(cctv_engine, Path(folder))
    assert len(gallery) == 3 and gallery.entries == 2 and problems == []
    hits = gallery.search(cctv_engine.template(cv2.imread(str(folder / "OBAMA" / "obama.jpg"))).embedding)
    assert hits[0].entry_id == "OBAMA" and hits[0].score > 0.9 and hits[1].entry_id == "BIDEN"


def test_networked_node_alarms_from_its_local_face_list_while_the_broker_is_unreachable(
        cctv_engine, portraits, face_boxes, tmp_path, capsys):
    """Like a gate, a camera keeps protecting with the list it has, and its alarms wait on disk."""
    import json as json_

    from edge.cctv import facelist
    from edge.cctv.facelist import FaceListSnapshot, encode_embedding
    from edge.link.outbox import Outbox
    from protocol.cctv import FaceTemplateRecord
    from protocol.keys import KeyPair, generate_keypair

    data = tmp_path / "cctv"
    template = cctv_engine.template(portraits["obama"]).embedding
    facelist.save(FaceListSnapshot(version=4, model=cctv_engine.model_tag, templates=(FaceTemplateRecord(
        template_id="t1", entry_id="E-OBAMA", list="pencegahan", embedding=encode_embedding(template)),)),
        data / "cam-off.facelist.json")
    frames = tmp_path / "frames"
    write_frames(walk_past(portraits, face_boxes, ["obama2"]).frames(), frames)
    generate_keypair().save(tmp_path / "cam.key")
    config = tmp_path / "cam.json"
    config.write_text(json_.dumps({
        "camera_id": "cam-off", "source": str(frames), "key_file": str(tmp_path / "cam.key"),
        "central_public_key": generate_keypair().public.b64, "data_dir": str(data),
        "mqtt": {"host": "127.0.0.1", "port": 1, "reconnect_max_s": 1},
    }))
    assert main(["run", "--config", str(config), "--threshold", str(THRESHOLD)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["alarms"] == 1 and summary["outbox_depth"] == 1
    with Outbox(data / "cam-off.outbox.sqlite", sender="cam-off", key=KeyPair.load(tmp_path / "cam.key")) as outbox:
        (row,) = outbox.pending()
        assert row.kind == "cctv_alarm" and b'"entry_id":"E-OBAMA"' in row.envelope


def test_a_live_stream_that_drops_is_reopened_and_the_node_keeps_reading():
    """A network camera that drops (or is not there yet) must not end the node: it reconnects."""
    from edge.cctv.source import LiveSource

    opened = []

    class FakeCapture:
        def __init__(self, target) -> None:
            opened.append(target)
            self.left = 0 if len(opened) == 1 else 3  # first attempt: the camera is not up yet

        def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
            return self.left > 0

        def read(self):
            if self.left == 0:
                return False, None
            self.left -= 1
            return True, np.full((72, 128, 3), len(opened), np.uint8)

        def release(self) -> None:
            pass

    stop = threading.Event()
    source = LiveSource("rtsp://camera.invalid/stream", capture_factory=FakeCapture, reconnect_min_s=0.01,
                        reconnect_max_s=0.02, read_timeout_s=0.05, clock_ms=lambda: 1)
    seen = []
    for frame in source.frames(stop):
        seen.append(int(frame.image[0, 0, 0]))
        if len({*seen}) >= 2:  # frames from two successive connections
            stop.set()
    source.close()
    assert len(opened) >= 3 and source.reconnects >= 2 and len(set(seen)) >= 2


def test_a_frame_the_engine_cannot_take_is_skipped_and_the_service_goes_on(cctv_engine, portraits, face_boxes, tmp_path):
    from edge.cctv.service import CameraService
    from edge.cctv.settings import CameraSettings
    from edge.cctv.source import Frame
    from edge.link.base import MemoryLink

    class Link(MemoryLink):
        def on_messages(self, filters, handler) -> None:
            self.handler = handler

        def report_watchlist_version(self, version) -> None:
            self.version = version

        def start(self) -> None:
            pass

    frames = [Frame(i, i * 66, f.image) for i, f in enumerate(walk_past(portraits, face_boxes, ["obama2"]).frames())]
    frames.insert(5, Frame(999, 999, np.zeros((72, 128), np.uint8)))  # a grey frame from a misconfigured camera

    class Source:
        name, live = "list", False

        def frames(self, stop):
            yield from frames

        def close(self) -> None:
            pass

    link = Link()
    settings = CameraSettings(camera_id="cam-x", source="unused", demo_mode=True, data_dir=tmp_path)
    service = CameraService(settings, engine=cctv_engine, link=link, central_key=None,
                            threshold_rule=lambda n: Threshold(THRESHOLD, None, n, None, False, "fixed"))
    service.node.set_gallery(_gallery(cctv_engine, portraits, {"E-OBAMA": "obama"}))
    stats = service.run(Source(), threading.Event())
    assert service.bad_frames == 1 and stats.frames == len(frames) and stats.alarms == 1
    assert [e.kind for e in link.events] == ["cctv_alarm"]
