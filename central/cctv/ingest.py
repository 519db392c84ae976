"""Camera messages in the ingest worker: alarms and heartbeats from ``autogate/v1/cctv/{camera}/...``.

The worker hands every camera topic here (one hook in ``IngestWorker._handle``) and keeps its own
guarantees: this runs on its thread, a database outage propagates so the worker retries without
acknowledging, and a message that can never become valid (forged, malformed, unknown camera,
expired, on the wrong channel) is logged, counted and acknowledged. Each alarm is verified with
its camera's key (the sender must be the camera of the topic), stored once by message id, and
announced on the event bus after commit, where the operator's live queue hears it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.cctv import alarms
from central.cctv.cameras import CameraKeyring, apply_health
from central.cctv.models import Camera
from central.events import EventBus, Notice
from central.ingest.metrics import IngestMetrics
from central.ingest.store import record_security_alert
from central.models import from_ms
from central.settings import CctvSettings
from protocol.cctv import CameraTopic, is_camera_topic, parse_camera_topic
from protocol.envelope import open_envelope
from protocol.errors import ForgedMessage, MalformedMessage, ProtocolError
from protocol.messages import CctvAlarm, Heartbeat

log = logging.getLogger(__name__)

CHANNEL = "cctv"  # the Notice channel of a stored alarm


class CctvIngest:
    """Stores what cameras send. ``reject(camera, reason, text)`` is the worker's counter and log."""

    def __init__(self, sessions: Callable[[], Session], *, clock: Callable[[], float], metrics: IngestMetrics,
                 bus: EventBus, max_age_ms: int, settings: CctvSettings,
                 reject: Callable[[str | None, str, str], None]) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics
        self._bus = bus
        self._max_age_ms = max_age_ms
        self.settings = settings
        self._reject = reject
        self.keyring = CameraKeyring(sessions)

    @staticmethod
    def handles(topic: str) -> bool:
        return is_camera_topic(topic)

    def handle(self, topic_text: str, payload: bytes) -> None:
        try:
            topic = parse_camera_topic(topic_text)
        except ValueError:
            self._reject(None, "bad_topic", f"not a camera topic: {topic_text[:200]!r}")
            return
        if topic.channel not in ("alarms", "health"):
            self._reject(topic.camera_id, "bad_topic", f"{topic.channel} is not ingested")
            return
        now_s = self._clock()
        try:
            envelope = self._open(payload, topic, now_s)
            kind = envelope.payload.kind
            if (topic.channel, kind) not in (("alarms", "cctv_alarm"), ("health", "heartbeat")):
                raise MalformedMessage(f"camera {topic.camera_id}: a {kind!r} message does not belong on {topic.channel!r}")
        except ProtocolError as exc:
            self._reject(topic.camera_id, exc.reason, str(exc))
            if isinstance(exc, ForgedMessage) and self.keyring.lookup(topic.camera_id) is not None:
                with self._sessions() as session:
                    record_security_alert(session, topic.camera_id, exc.reason, str(exc)[:300], from_ms(int(now_s * 1000)))
                    session.commit()
            return
        received_at = from_ms(int(now_s * 1000))
        with self._sessions() as session:
            camera = session.get(Camera, topic.camera_id)
            if camera is None:
                self.keyring.forget(topic.camera_id)
                self._reject(topic.camera_id, "unknown_sender", "camera no longer registered")
                return
            camera.last_seen_at = received_at
            if isinstance(envelope.payload, Heartbeat):
                apply_health(camera, envelope.payload, envelope.sent_at_ms, received_at)
                session.commit()
                self._metrics.inc("cctv_health")
                return
            assert isinstance(envelope.payload, CctvAlarm)
            row = alarms.store_alarm(session, camera, envelope, received_at, self.settings)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # another worker stored the same message first
                row = None
        if row is None:
            self._metrics.inc("cctv_alarms_duplicate")
            return
        self._metrics.inc("cctv_alarms_stored")
        self._bus.publish(Notice(topic.camera_id, CHANNEL, envelope.message_id, row.status))

    def _open(self, payload: bytes, topic: CameraTopic, now_s: float):  # type: ignore[no-untyped-def]
        def attempt():  # type: ignore[no-untyped-def]
            return open_envelope(payload, keys=self.keyring.lookup, now_ms=int(now_s * 1000),
                                 max_age_ms=self._max_age_ms, expected_sender=topic.camera_id)

        try:
            return attempt()
        except ForgedMessage:
            self.keyring.forget(topic.camera_id)  # the key may have been rotated since we cached it
            return attempt()
