"""The camera side of face-list publication: verify, assemble, check, install, report.

``FaceListSync.handle(topic, payload)`` takes every message on the face-list topics (the notice,
``delta/{v}``, ``snapshot/{v}/{i}``), opened with central's public key. A forged, garbled or
inconsistent message is logged, counted and dropped; the list in force stays in force. A delta
whose base is the local version is applied and its result's SHA-256 checked; chunks are gathered
for the newest version and the assembled snapshot's digest checked against the one every chunk
carries. A list made by another embedder than the node runs is refused (its templates would not
compare). Installing writes the local copy atomically (the node keeps searching with it while
central is unreachable, across restarts), then hands the new gallery to ``on_installed``.

The same rules as the gate's ``edge.link.watchlist_sync``; the calls are serialised by a lock.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from edge.cctv import facelist
from edge.cctv.facelist import FaceListError, FaceListSnapshot
from edge.cctv.gallery import WatchlistGallery
from protocol.cctv import (
    FACE_DELTA_FILTER,
    FACE_LIST_NOTICE,
    FACE_LIST_ROOT,
    FACE_SNAPSHOT_FILTER,
    FaceListChunk,
    FaceListDelta,
    open_cctv,
)
from protocol.envelope import CENTRAL_SENDER, open_envelope
from protocol.errors import MalformedMessage, ProtocolError
from protocol.keys import PublicKey
from protocol.messages import WatchlistVersionNotice

log = logging.getLogger(__name__)

SUBSCRIPTIONS: tuple[str, ...] = (FACE_DELTA_FILTER, FACE_SNAPSHOT_FILTER)  # the notice is the link's own
InstalledFn = Callable[[WatchlistGallery], None]
MAX_PENDING_DELTAS = 64


def parse_face_topic(topic: str) -> tuple[str, int, int | None]:
    parts = topic.removeprefix(FACE_LIST_ROOT + "/").split("/")
    if parts[0] == "snapshot" and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return "snapshot", int(parts[1]), int(parts[2])
    if parts[0] == "delta" and len(parts) == 2 and parts[1].isdigit():
        return "delta", int(parts[1]), None
    raise ValueError(f"not a face list topic: {topic!r}")


class FaceListSync:
    """Keeps the node's face list at central's published version.

    :param path: the local copy (JSON), read at start and replaced atomically on install.
    :param model: the embedder tag the node runs; a list of another model is refused.
    :param dimension: the embedder's output size (to build galleries).
    :param central_key: central's public key; ``None`` refuses every message.
    :param on_installed: called with each new gallery (and with the local one by :meth:`start`).
    """

    def __init__(self, path: Path, *, model: str, dimension: int, central_key: PublicKey | None,
                 clock_ms: Callable[[], int], on_installed: InstalledFn | None = None) -> None:
        self.path = path
        self.model = model
        self.dimension = dimension
        self._keys = {CENTRAL_SENDER: central_key} if central_key is not None else {}
        self._clock_ms = clock_ms
        self._on_installed = on_installed
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self._target: WatchlistVersionNotice | None = None
        self._chunks: dict[int, FaceListChunk] = {}
        self._chunk_key: tuple[int, str] | None = None
        self._pending: dict[int, FaceListDelta] = {}
        try:
            local = facelist.load(path)
        except FaceListError as exc:
            log.error("%s; starting from an empty face list until central's arrives", exc)
            local = None
        if local is not None and local.model != model and local.templates:
            log.error("local face list %s was made by %s, this node runs %s: not used", path, local.model, model)
            local = None
        self.snapshot = local or FaceListSnapshot(version=0, model=model)
        self.sha256 = self.snapshot.sha256()

    @property
    def version(self) -> int:
        return self.snapshot.version

    def gallery(self) -> WatchlistGallery:
        return WatchlistGallery.from_snapshot(self.snapshot, self.dimension)

    def start(self) -> WatchlistGallery:
        """The gallery of the local copy, also handed to ``on_installed``."""
        gallery = self.gallery()
        if self._on_installed is not None:
            self._on_installed(gallery)
        return gallery

    # ------------------------------------------------------------------ input

    def on_notice(self, notice: WatchlistVersionNotice) -> None:
        """For a link that verified the notice already (``MqttLink.on_watchlist_notice``)."""
        with self._lock:
            self._accept_notice(notice)

    def handle(self, topic: str, payload: bytes) -> bool:
        with self._lock:
            try:
                if topic == FACE_LIST_NOTICE:
                    envelope = open_envelope(payload, keys=self._keys, now_ms=self._clock_ms(),
                                             expected_sender=CENTRAL_SENDER)
                    if not isinstance(envelope.payload, WatchlistVersionNotice):
                        raise MalformedMessage(f"a {envelope.payload.kind} on the face list notice topic")
                    self._accept_notice(envelope.payload)
                    return True
                kind, version, index = parse_face_topic(topic)
                if not payload:
                    return False  # central clearing an old retained topic
                if version <= self.version:
                    self.counts["stale_ignored"] += 1
                    return False
                message = open_cctv(payload, keys=self._keys, now_ms=self._clock_ms(),
                                    expected_sender=CENTRAL_SENDER).payload
                if kind == "snapshot" and isinstance(message, FaceListChunk):
                    if (message.version, message.index) != (version, index):
                        raise MalformedMessage(f"chunk {message.version}/{message.index} on topic {topic}")
                    return self._chunk(message)
                if kind == "delta" and isinstance(message, FaceListDelta):
                    if message.version != version:
                        raise MalformedMessage(f"delta to {message.version} on topic {topic}")
                    return self._delta(message)
                raise MalformedMessage(f"a {message.kind} on topic {topic}")
            except OSError as exc:
                self.counts["rejected:install_failed"] += 1
                log.error("face list from %s not installed (%s); version %d stays", topic, exc, self.version)
                return False
            except (ProtocolError, ValueError) as exc:
                reason = getattr(exc, "reason", type(exc).__name__)
                self.counts["rejected"] += 1
                self.counts[f"rejected:{reason}"] += 1
                log.warning("face list message on %s refused (%s): %s; version %d stays", topic, reason, exc,
                            self.version)
                return False

    # ------------------------------------------------------------------ steps

    def _accept_notice(self, notice: WatchlistVersionNotice) -> None:
        self.counts["notices"] += 1
        if notice.version < self.version:
            log.warning("face list notice for version %d ignored: running %d", notice.version, self.version)
            return
        self._target = notice
        if notice.version == self.version and notice.sha256 != self.sha256:
            self.counts["sha_mismatch"] += 1
            log.error("face list version %d: local copy differs from central's; waiting for its snapshot", notice.version)

    def _check_model(self, model: str, what: str) -> None:
        if model != self.model:
            raise MalformedMessage(f"{what} holds {model} templates; this node runs {self.model}")

    def _delta(self, message: FaceListDelta) -> bool:
        self._check_model(message.model, f"delta to {message.version}")
        if message.base_version != self.version:
            if len(self._pending) < MAX_PENDING_DELTAS:
                self._pending[message.base_version] = message
            self.counts["deltas_waiting"] += 1
            return False
        self._apply(message)
        while self.version in self._pending:
            self._apply(self._pending.pop(self.version))
        return True

    def _apply(self, message: FaceListDelta) -> None:
        snapshot = self.snapshot.apply(message)
        if snapshot.sha256() != message.sha256:
            raise MalformedMessage(f"delta to {message.version}: result does not match central's sha256")
        self._install(snapshot, how="delta")

    def _chunk(self, chunk: FaceListChunk) -> bool:
        self._check_model(chunk.model, f"snapshot {chunk.version}")
        target = self._target.version if self._target else None
        if target is not None and chunk.version < target:
            self.counts["stale_ignored"] += 1
            return False
        key = (chunk.version, chunk.sha256)
        if self._chunk_key is None or chunk.version > self._chunk_key[0] or (
                key != self._chunk_key and self._target is not None
                and (self._target.version, self._target.sha256) == key):
            self._chunks, self._chunk_key = {}, key
        elif key != self._chunk_key:
            raise MalformedMessage(f"chunk {chunk.version}/{chunk.index} inconsistent with the others")
        if chunk.index >= chunk.count:
            raise MalformedMessage(f"chunk index {chunk.index} of {chunk.count}")
        first = next(iter(self._chunks.values()), None)
        if first is not None and (first.count, first.total_templates) != (chunk.count, chunk.total_templates):
            raise MalformedMessage(f"chunk {chunk.version}/{chunk.index}: count differs from the others")
        self._chunks[chunk.index] = chunk
        self.counts["chunks"] += 1
        if len(self._chunks) < chunk.count:
            return True
        chunks = [self._chunks[i] for i in range(chunk.count)]
        self._chunks, self._chunk_key = {}, None
        snapshot = FaceListSnapshot(version=chunk.version, model=chunk.model,
                                    templates=tuple(t for c in chunks for t in c.templates))
        if len(snapshot.templates) != chunk.total_templates or snapshot.sha256() != chunk.sha256:
            raise MalformedMessage(f"snapshot {chunk.version}: assembled list does not match central's sha256")
        self._install(snapshot, how="snapshot")
        for base in [b for b in self._pending if b < self.version]:
            del self._pending[base]
        while self.version in self._pending:
            self._apply(self._pending.pop(self.version))
        return True

    def _install(self, snapshot: FaceListSnapshot, *, how: str) -> None:
        before = self.version
        gallery = WatchlistGallery.from_snapshot(snapshot, self.dimension)  # before the file: a bad list fails here
        facelist.save(snapshot, self.path)
        self.snapshot, self.sha256 = snapshot, snapshot.sha256()
        self.counts[f"installed:{how}"] += 1
        log.info("face list version %d installed by %s (was %d): %d templates of %d entries", snapshot.version, how,
                 before, len(snapshot.templates), snapshot.entries)
        if self._on_installed is not None:
            self._on_installed(gallery)
