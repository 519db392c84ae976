"""Camera nodes: registration (their verifying keys), their health, and the keyring ingest uses."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.cctv.models import Camera
from central.errors import InvalidRequest
from central.models import as_utc
from protocol.cctv import RESERVED_CAMERA_IDS
from protocol.keys import PublicKey
from protocol.messages import Heartbeat

log = logging.getLogger(__name__)


def add_camera(session: Session, camera_id: str, *, public_key_b64: str, name: str = "", location: str = "") -> Camera:
    """Register a camera, or rotate its key (and rename it); the caller audits and commits."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", camera_id) or camera_id in RESERVED_CAMERA_IDS:
        raise InvalidRequest(f"invalid camera id {camera_id!r}")
    try:
        PublicKey.from_b64(public_key_b64)
    except ValueError as exc:
        raise InvalidRequest(f"camera {camera_id}: not a base64 Ed25519 public key") from exc
    camera = session.get(Camera, camera_id)
    if camera is None:
        camera = Camera(id=camera_id, public_key=public_key_b64, name=name[:120], location=location[:200])
        session.add(camera)
    else:
        camera.public_key = public_key_b64
        camera.name = name[:120] or camera.name
        camera.location = location[:200] or camera.location
    session.flush()
    return camera


def list_cameras(session: Session) -> list[Camera]:
    return list(session.scalars(select(Camera).order_by(Camera.id)))


def camera_view(camera: Camera) -> dict[str, Any]:
    seen = as_utc(camera.last_seen_at)
    health = camera.health or {}
    return {"id": camera.id, "name": camera.name, "location": camera.location, "online": camera.online,
            "last_seen_at": seen.isoformat() if seen else None, "face_list_version": camera.face_list_version,
            "outbox_depth": health.get("outbox_depth"), "software_version": health.get("software_version")}


def apply_health(camera: Camera, beat: Heartbeat, sent_at_ms: int, received_at: datetime) -> bool:
    """Latest heartbeat wins (the offline will by arrival, as for gates); True if applied."""
    if beat.online:
        if sent_at_ms <= camera.health_sent_ms:
            return False
        camera.health_sent_ms = sent_at_ms
    camera.health = beat.model_dump(mode="json")
    camera.last_seen_at = received_at
    if beat.watchlist_version is not None:
        camera.face_list_version = beat.watchlist_version
    if camera.online != beat.online:
        camera.online, camera.online_changed_at = beat.online, received_at
        log.log(logging.INFO if beat.online else logging.WARNING, "camera %s: %s", camera.id,
                "online" if beat.online else "offline (last will)")
    return True


class CameraKeyring:
    """``lookup(camera_id)`` for ``open_envelope``; unknown cameras are re-read each time."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._keys: dict[str, PublicKey] = {}
        self._lock = threading.Lock()

    def lookup(self, camera_id: str) -> PublicKey | None:
        with self._lock:
            cached = self._keys.get(camera_id)
        if cached is not None:
            return cached
        with self._sessions() as session:
            text = session.scalar(select(Camera.public_key).where(Camera.id == camera_id))
        if text is None:
            return None
        try:
            key = PublicKey.from_b64(text)
        except ValueError:
            log.error("camera %s: stored public key is not a valid Ed25519 key", camera_id)
            return None
        with self._lock:
            self._keys[camera_id] = key
        return key

    def forget(self, camera_id: str) -> None:
        with self._lock:
            self._keys.pop(camera_id, None)
