"""Helpers the CCTV tests share (a plain module: nothing collected)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from simulators.cctv_feed import Scene, Walker

PORTRAITS = Path(__file__).resolve().parents[2] / "tests" / "face" / "data"


def walk_past(portraits: dict[str, np.ndarray], boxes: dict[str, tuple], people: list[str], *, seed: int = 3,
              frames: int = 40, stagger: int = 10) -> Scene:
    """*people* (portrait names) cross the view one after another, alternating directions."""
    walkers = [
        Walker(name, portraits[name], boxes[name], start_frame=i * stagger, frames=frames,
               direction=1 if i % 2 == 0 else -1, lane_y=0.38 + 0.1 * (i % 3), label=f"pass-{i}")
        for i, name in enumerate(people)
    ]
    return Scene(walkers, seed=seed)


def gallery_folder(root: Path, entries: dict[str, list[str]]) -> Path:
    """One folder per entry with copies of the named portraits."""
    for entry, names in entries.items():
        folder = root / entry
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            cv2.imwrite(str(folder / f"{name}.jpg"), cv2.imread(str(PORTRAITS / f"{name}.jpg")))
    return root


# ------------------------------------------------------------------ central side

import itertools  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from central.db import Database  # noqa: E402
from central.models import User  # noqa: E402
from edge.cctv.facelist import encode_embedding  # noqa: E402
from protocol import Heartbeat, KeyPair, generate_keypair, seal  # noqa: E402
from protocol.cctv import camera_alarms, camera_health  # noqa: E402
from protocol.messages import CctvAlarm  # noqa: E402
from signing_gate import NOW_MS, NOW_S  # noqa: E402,F401

TEST_PASSWORD = "correct horse battery staple"
_HASH: list[str] = []


def jpeg(shade: int, size: tuple[int, int] = (120, 96)) -> bytes:
    image = np.full((*size, 3), shade, np.uint8)
    cv2.putText(image, str(shade), (5, size[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255 - shade,) * 3, 1)
    return cv2.imencode(".jpg", image)[1].tobytes()


def unit(seed: int, dim: int = 192) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def alarm(entry_id: str, *, probe: np.ndarray | None = None, score: float = 0.71, template_id: str = "t-1",
          list_name: str = "pencegahan", seen_ms: int = NOW_MS - 5_000, pictures: bool = True) -> CctvAlarm:
    return CctvAlarm(
        alarm_id=uuid.uuid4().hex, track_id=7, entry_id=entry_id, list=list_name, template_id=template_id,
        score=score, threshold=0.52, target_fpir=0.01, gallery_size=120, frame_scores=(0.74, 0.68),
        candidates=({"entry_id": entry_id, "score": score},), first_seen_ms=seen_ms, last_seen_ms=seen_ms + 2000,
        frame=31, frames_seen=40, faces_embedded=4, face_watchlist_version=3, model="face-mobilefacenet@x",
        probe_embedding=encode_embedding(unit(1) if probe is None else probe),
        snapshot_jpeg=jpeg(90, (180, 320)) if pictures else None,
        face_jpegs=(jpeg(60), jpeg(70)) if pictures else (),
        track_jpegs=(jpeg(100), jpeg(110), jpeg(120)) if pictures else (), track_frames=(3, 17, 31) if pictures else (),
    )


@dataclass
class FakeCamera:
    """Signs messages the way a camera node does: its own key and topics, a rising seq."""

    camera_id: str
    key: KeyPair = field(default_factory=generate_keypair)
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def alarm(self, payload: CctvAlarm, *, now_ms: int = NOW_MS, message_id: str | None = None) -> tuple[str, bytes]:
        return camera_alarms(self.camera_id), seal(payload, sender=self.camera_id, key=self.key, seq=next(self.seq),
                                                   now_ms=now_ms, message_id=message_id)

    def health(self, online: bool = True, *, now_ms: int = NOW_MS, version: int | None = 3) -> tuple[str, bytes]:
        beat = Heartbeat(online=online, uptime_s=12.0, outbox_depth=0, last_seq=1, watchlist_version=version)
        return camera_health(self.camera_id), seal(beat, sender=self.camera_id, key=self.key, seq=0, now_ms=now_ms)


def add_user(database: Database, role: str) -> tuple[int, str]:
    if not _HASH:
        from argon2 import PasswordHasher

        _HASH.append(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(TEST_PASSWORD))
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with database.session() as session:
        user = User(username=username, role=role, password_hash=_HASH[0], active=True)
        session.add(user)
        session.commit()
        return user.id, username


def act_as(client, database: Database, role: str) -> tuple[str, str]:
    """A signed-in session for a new user of *role*: (CSRF token, user name)."""
    user_id, username = add_user(database, role)
    token = uuid.uuid4().hex
    with client.session_transaction() as session:
        session["user_id"] = user_id
        session["role"] = role
        session["csrf_token"] = token
    return token, username


def clear_retained(broker, topics: list[str]) -> None:
    """Leave nothing on the broker: an empty retained message deletes one."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"clean-{uuid.uuid4().hex[:8]}")
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic in topics:
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()
