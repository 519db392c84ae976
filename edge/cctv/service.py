"""A networked camera node: the face list from central, alarms to central, like a gate.

The node keeps working while the network or central is down: it searches with its local copy of
the face list (``FaceListSync``, on disk), and every alarm goes into the same durable outbox a
gate uses (``edge.link.outbox``), sealed and on disk before anything tries to send it, cleared
only on its own PUBACK, so an alarm raised during an outage, or just before a power cut, reaches
central once the link is back. The link is the gate's ``MqttLink`` on the camera's topics
(``protocol.cctv``): a retained offline will, heartbeats carrying the face list version, and
central's face list notice in place of the gate watchlist's.

    autogate cctv run --config camera.toml      (edge/cctv/settings.py lists every setting)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from contextlib import ExitStack
from typing import Any

from edge.cctv.decision import DecisionPolicy
from edge.cctv.evidence import build_alarm
from edge.cctv.gallery import WatchlistGallery
from edge.cctv.node import CameraNode, NodeConfig, NodeStats, ThresholdRule
from edge.cctv.settings import CameraSettings
from edge.cctv.source import FrameSource, wall_ms
from edge.cctv.sync import SUBSCRIPTIONS, FaceListSync
from edge.face.errors import FaceError
from edge.link.mqtt import LinkTopics
from protocol import cctv as topics
from protocol.keys import PublicKey

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
SHUTDOWN_DRAIN_S = 10.0


def camera_topics(camera_id: str) -> LinkTopics:
    return LinkTopics(events=topics.camera_alarms(camera_id), state=topics.camera_state(camera_id),
                      health=topics.camera_health(camera_id), commands=topics.camera_commands(camera_id),
                      notice=topics.FACE_LIST_NOTICE)


def node_config(settings: CameraSettings, engine: Any) -> NodeConfig:
    same_person = float(engine.operating_points.get("0.001", 0.4))
    policy = DecisionPolicy(threshold=1.0, min_votes=settings.min_votes, max_faces=settings.max_faces_per_track,
                            same_person_threshold=same_person, cooldown_ms=int(settings.alarm_cooldown_s * 1000))
    return NodeConfig(camera_id=settings.camera_id, policy=policy, min_face_px=settings.min_face_px)


class CameraService:
    """The node, its face-list sync and its link, assembled; :meth:`run` reads one source.

    :param link: an unstarted ``MqttLink`` on :func:`camera_topics` (or any link with the same
        methods: ``publish_event``, ``on_watchlist_notice``, ``on_messages``, ``report_watchlist_version``).
    """

    def __init__(self, settings: CameraSettings, *, engine: Any, link: Any, central_key: PublicKey | None,
                 threshold_rule: ThresholdRule, clock_ms=wall_ms) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.link = link
        empty = WatchlistGallery(engine.dimension, model=engine.model_tag)
        self.node = CameraNode(engine, empty, threshold_rule=threshold_rule, config=node_config(settings, engine))
        self.sync = FaceListSync(settings.facelist_path, model=engine.model_tag, dimension=engine.dimension,
                                 central_key=central_key, clock_ms=clock_ms, on_installed=self._installed)
        link.on_watchlist_notice(self.sync.on_notice)
        link.on_messages(SUBSCRIPTIONS, self.sync.handle)
        self.alarms_sent = 0
        self.bad_frames = 0

    def _installed(self, gallery: WatchlistGallery) -> None:
        self.node.set_gallery(gallery)
        self.link.report_watchlist_version(gallery.version)

    def start(self) -> None:
        """Search with the local face list at once, then connect (the link retries by itself)."""
        self.sync.start()
        self.link.start()

    def run(self, source: FrameSource, stop: threading.Event) -> NodeStats:
        """Process *source* until it ends or *stop* is set; every alarm into the outbox."""
        try:
            for frame in source.frames(stop):
                try:
                    raised = self.node.process(frame.index, frame.at_ms, frame.image)
                except FaceError as exc:  # a frame the engine cannot take (not BGR uint8): skip it, go on
                    self.bad_frames += 1
                    log.warning("camera %s: frame %d skipped: %s", self.settings.camera_id, frame.index, exc)
                    continue
                self._send(raised)
        finally:
            self._send(self.node.finish())
            source.close()
        return self.node.stats

    def _send(self, raised: list) -> None:
        for facts, images in raised:
            self.link.publish_event(build_alarm(facts, images))
            self.alarms_sent += 1


def run_networked(args: argparse.Namespace) -> int:
    """``autogate cctv run`` without ``--gallery``: the camera node of a deployment."""
    from pydantic import ValidationError

    from autogate import __version__
    from edge.cctv.cli import threshold_rule
    from edge.cctv.settings import load_camera_settings
    from edge.cctv.source import SourceError, open_source
    from edge.cctv.threshold import CalibrationError
    from edge.cli import _stop_on_signals
    from edge.face import FaceEngine
    from edge.link.assembly import load_keys, open_outbox
    from edge.link.errors import LinkError
    from edge.link.mqtt import MqttLink

    try:
        settings = load_camera_settings(args.config, source=args.source, target_fpir=args.target_fpir,
                                        threshold=args.threshold, source_fps=args.fps,
                                        detector_input_px=args.detector_input_px, models_dir=args.models_dir)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"autogate cctv: invalid settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    engine = FaceEngine.from_models(models_dir=settings.models_dir, embedder_model=settings.face_embedder,
                                    detector_input_px=settings.detector_input_px, face_selection="largest")
    try:
        rule = threshold_rule(engine, models_dir=settings.models_dir, target_fpir=settings.target_fpir,
                              fixed=settings.threshold)
        source = open_source(settings.source, fps=settings.source_fps)
        key, central_key = load_keys(settings)  # type: ignore[arg-type]
    except (CalibrationError, SourceError, LinkError) as exc:
        print(f"autogate cctv: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    with ExitStack() as stack, _stop_on_signals() as stop:
        outbox = stack.enter_context(open_outbox(settings, key))  # type: ignore[arg-type]
        outbox.compact()
        link = MqttLink(settings.camera_id, settings.mqtt, key=key, central_key=central_key, outbox=outbox,
                        heartbeat_interval_s=settings.heartbeat_interval_s, software_version=__version__,
                        link_topics=camera_topics(settings.camera_id))
        stack.callback(link.close)
        service = CameraService(settings, engine=engine, link=link, central_key=central_key, threshold_rule=rule)
        service.start()
        log.info("camera %s: %s, face list version %d, threshold %.4f", settings.camera_id, source.name,
                 service.sync.version, service.node.threshold.value)
        stats = service.run(source, stop)
        if not link.wait_for_drained(SHUTDOWN_DRAIN_S):
            log.warning("camera %s: %d alarm(s) still in the outbox; sent after the next start",
                        settings.camera_id, outbox.depth)
        print(json.dumps({"frames": stats.frames, "tracks": stats.tracks, "alarms": stats.alarms,
                          "outbox_depth": outbox.depth}))
    return 0
