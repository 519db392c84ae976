"""The gate side of watchlist publication: verify, assemble, install, report.

``WatchlistSync.handle(topic, payload)`` takes the raw bytes of every message on the watchlist
topics (the notice, ``delta/{v}``, ``snapshot/{v}/{i}``). Each is opened with central's public
key (sender "central"); a forged, garbled or inconsistent message is logged, counted and
dropped, and the list in force stays in force. Then:

* a delta whose base is the local version is applied, the result's SHA-256 checked against the
  delta's, and installed; a delta from further ahead waits (its base may still arrive as a
  delta) while the snapshot of a newer version is assembled from its chunks;
* chunks are collected per version (newest wanted version only, so memory stays bounded);
  when all are in, the snapshot is rebuilt, its canonical bytes hashed and compared with the
  SHA-256 every chunk carries, and installed;
* installing means ``local.replace(snapshot)``: an atomic file write, then the screener swap
  (``edge.watchlist.local.LocalWatchlist``), so a crash leaves the old or the new list;
* the installed version is reported through ``on_installed(version, sha256)``:
  :func:`link_reporter` feeds it to ``MqttLink.report_watchlist_version`` (heartbeats) and
  queues a ``WatchlistAck`` on the durable outbox.

Nothing here needs central to be up: the gate screens with its local copy all along. Calls
are serialised by a lock, so the link may call ``handle`` from any single thread; building a
screener for a large list takes a moment, so a link should hand messages to a worker thread
rather than call this from paho's network thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from edge.watchlist.errors import WatchlistError
from edge.watchlist.model import WatchlistEntry
from edge.watchlist.snapshot import WatchlistDelta, WatchlistSnapshot, apply_delta
from protocol.envelope import CENTRAL_SENDER, open_envelope
from protocol.errors import MalformedMessage, ProtocolError
from protocol.keys import PublicKey
from protocol.messages import WatchlistAck, WatchlistVersionNotice
from protocol.topics import WATCHLIST_NOTICE
from protocol.watchlist import (
    DELTA_FILTER,
    SNAPSHOT_FILTER,
    WatchlistDeltaMessage,
    WatchlistSnapshotChunk,
    open_watchlist,
    parse_watchlist_topic,
)

log = logging.getLogger(__name__)

SUBSCRIPTIONS: tuple[str, ...] = (WATCHLIST_NOTICE, DELTA_FILTER, SNAPSHOT_FILTER)
InstalledFn = Callable[[int, str], None]
MAX_PENDING_DELTAS = 64


class LocalStore(Protocol):
    """What the sync needs of the gate's local copy (``LocalWatchlist`` has it)."""

    @property
    def version(self) -> int: ...

    @property
    def snapshot(self) -> WatchlistSnapshot: ...

    def replace(self, snapshot: WatchlistSnapshot) -> None: ...


def sha256_of(snapshot: WatchlistSnapshot) -> str:
    return hashlib.sha256(snapshot.canonical_json()).hexdigest()


class WatchlistSync:
    """Keeps the gate's local watchlist at central's published version.

    :param local: the gate's local copy (``LocalWatchlist``), replaced atomically on install.
    :param central_key: central's Ed25519 public key; ``None`` refuses every message.
    :param clock_ms: wall clock, epoch ms (only to refuse messages dated in the future).
    :param on_installed: called with (version, sha256) after each install and at start-up.
    """

    def __init__(
        self,
        local: LocalStore,
        central_key: PublicKey | None,
        *,
        clock_ms: Callable[[], int],
        on_installed: InstalledFn | None = None,
    ) -> None:
        self._local = local
        self._keys = {CENTRAL_SENDER: central_key} if central_key is not None else {}
        self._clock_ms = clock_ms
        self._on_installed = on_installed
        self._lock = threading.Lock()
        self._sha256 = sha256_of(local.snapshot)
        self._target: WatchlistVersionNotice | None = None
        self._chunks: dict[int, WatchlistSnapshotChunk] = {}
        self._chunk_version: int | None = None
        self._chunk_sha: str | None = None
        self._pending: dict[int, WatchlistDeltaMessage] = {}  # by base version
        self._reported: tuple[int, str] | None = None
        self.counts: Counter[str] = Counter()
        if central_key is None:
            log.warning("no central public key: watchlist updates are refused, local list stays in force")

    # --------------------------------------------------------------------------- state

    @property
    def version(self) -> int:
        return self._local.version

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def target_version(self) -> int | None:
        """The version central last announced, if any."""
        return self._target.version if self._target else None

    @property
    def is_current(self) -> bool:
        return self._target is None or (self._target.version == self.version and self._target.sha256 == self._sha256)

    def report(self, *, force: bool = True) -> None:
        """Report the version in force (call once at start, after the link is up). Without
        *force*, a version already reported is not reported again (retained notices repeat)."""
        reported = (self.version, self._sha256)
        if self._on_installed is not None and (force or reported != self._reported):
            self._on_installed(*reported)
            self._reported = reported

    # --------------------------------------------------------------------------- input

    def handle(self, topic: str, payload: bytes) -> bool:
        """Process one raw message; True if it changed or confirmed state, False if dropped."""
        with self._lock:
            try:
                if topic == WATCHLIST_NOTICE:
                    return self._notice(payload)
                kind, topic_version, topic_index = parse_watchlist_topic(topic)
                if not payload:
                    return False  # central clearing an old retained topic
                if topic_version <= self.version:
                    self.counts["stale_ignored"] += 1  # cheap: no signature check for old data
                    return False
                envelope = open_watchlist(
                    payload, keys=self._keys, now_ms=self._clock_ms(), expected_sender=CENTRAL_SENDER
                )
                message = envelope.payload
                if kind == "snapshot" and isinstance(message, WatchlistSnapshotChunk):
                    if (message.version, message.index) != (topic_version, topic_index):
                        raise MalformedMessage(f"chunk {message.version}/{message.index} on topic {topic}")
                    return self._chunk(message)
                if kind == "delta" and isinstance(message, WatchlistDeltaMessage):
                    if message.version != topic_version:
                        raise MalformedMessage(f"delta to {message.version} on topic {topic}")
                    return self._delta(message)
                raise MalformedMessage(f"a {message.kind} on topic {topic}")
            except OSError as exc:  # the local file could not be written: the old list stays
                self.counts["rejected"] += 1
                self.counts["rejected:install_failed"] += 1
                log.error("watchlist from %s not installed (%s); version %d stays", topic, exc, self.version)
                return False
            except (ProtocolError, ValueError, WatchlistError) as exc:
                reason = getattr(exc, "reason", type(exc).__name__)
                self.counts["rejected"] += 1
                self.counts[f"rejected:{reason}"] += 1
                log.warning(
                    "watchlist message on %s refused (%s): %s; version %d stays", topic, reason, exc, self.version
                )
                return False

    def on_notice(self, notice: WatchlistVersionNotice) -> None:
        """For a link that already verified the notice (``MqttLink.on_watchlist_notice``)."""
        with self._lock:
            self._accept_notice(notice)

    # --------------------------------------------------------------------------- steps

    def _notice(self, payload: bytes) -> bool:
        envelope = open_envelope(payload, keys=self._keys, now_ms=self._clock_ms(), expected_sender=CENTRAL_SENDER)
        if not isinstance(envelope.payload, WatchlistVersionNotice):
            raise MalformedMessage(f"a {envelope.payload.kind} on the watchlist notice topic")
        self._accept_notice(envelope.payload)
        return True

    def _accept_notice(self, notice: WatchlistVersionNotice) -> None:
        self.counts["notices"] += 1
        if notice.version < self.version:
            # Never roll back: an old retained notice or a replay must not undo a newer list.
            log.warning("watchlist notice for version %d ignored: running %d", notice.version, self.version)
            return
        self._target = notice
        if notice.version == self.version:
            if notice.sha256 != self._sha256:
                log.error(
                    "watchlist version %d: local copy differs from central's (sha256); waiting for its snapshot",
                    notice.version,
                )
                self.counts["sha_mismatch"] += 1
            else:
                self.report(force=False)
            return
        log.info("watchlist version %d announced (running %d)", notice.version, self.version)

    def _delta(self, message: WatchlistDeltaMessage) -> bool:
        if message.base_version != self.version:
            if len(self._pending) < MAX_PENDING_DELTAS:
                self._pending[message.base_version] = message
            self.counts["deltas_waiting"] += 1
            log.info(
                "watchlist delta %d->%d waits: running %d (snapshot or earlier delta needed)",
                message.base_version,
                message.version,
                self.version,
            )
            return False
        self._apply_delta(message)
        self._drain_pending()
        return True

    def _apply_delta(self, message: WatchlistDeltaMessage) -> None:
        try:
            delta = WatchlistDelta(
                base_version=message.base_version,
                version=message.version,
                added=tuple(WatchlistEntry.model_validate(e) for e in message.added),
                updated=tuple(WatchlistEntry.model_validate(e) for e in message.updated),
                removed=message.removed,
            )
        except ValidationError as exc:
            raise MalformedMessage(f"delta to {message.version}: {exc.error_count()} invalid field(s)") from exc
        snapshot = apply_delta(self._local.snapshot, delta)
        if sha256_of(snapshot) != message.sha256:
            raise MalformedMessage(f"delta to {message.version}: result does not match central's sha256")
        self._install(snapshot, message.sha256, how="delta")

    def _drain_pending(self) -> None:
        for base in [b for b in self._pending if b < self.version]:
            del self._pending[base]
        while self.version in self._pending:
            self._apply_delta(self._pending.pop(self.version))

    def _chunk(self, chunk: WatchlistSnapshotChunk) -> bool:
        target = self._target.version if self._target else None
        if target is not None and chunk.version < target:
            self.counts["stale_ignored"] += 1
            return False
        if self._chunk_version is None or chunk.version > self._chunk_version:
            self._chunks, self._chunk_version, self._chunk_sha = {}, chunk.version, chunk.sha256
        elif chunk.version < self._chunk_version:
            self.counts["stale_ignored"] += 1
            return False
        if chunk.sha256 != self._chunk_sha:
            # Chunks of two builds of one version must never be mixed; the announced build wins.
            announced = self._target is not None and (self._target.version, self._target.sha256) == (
                chunk.version,
                chunk.sha256,
            )
            if not announced:
                raise MalformedMessage(f"chunk {chunk.version}/{chunk.index} inconsistent with the others")
            self._chunks, self._chunk_sha = {}, chunk.sha256
        if chunk.index >= chunk.count:
            raise MalformedMessage(f"chunk index {chunk.index} of {chunk.count}")
        first = next(iter(self._chunks.values()), None)
        if first is not None and (first.count, first.total_entries) != (chunk.count, chunk.total_entries):
            raise MalformedMessage(f"chunk {chunk.version}/{chunk.index}: count differs from the others")
        self._chunks[chunk.index] = chunk
        self.counts["chunks"] += 1
        if len(self._chunks) < chunk.count:
            return True
        chunks, sha = [self._chunks[i] for i in range(chunk.count)], self._chunk_sha
        self._chunks, self._chunk_version, self._chunk_sha = {}, None, None
        try:
            entries = tuple(WatchlistEntry.model_validate(e) for c in chunks for e in c.entries)
            snapshot = WatchlistSnapshot(version=chunk.version, entries=entries)
        except ValidationError as exc:
            raise MalformedMessage(f"snapshot {chunk.version}: {exc.error_count()} invalid field(s)") from exc
        if len(entries) != chunk.total_entries or sha256_of(snapshot) != sha:
            raise MalformedMessage(f"snapshot {chunk.version}: assembled list does not match central's sha256")
        self._install(snapshot, sha, how="snapshot")  # type: ignore[arg-type]
        self._drain_pending()
        return True

    def _install(self, snapshot: WatchlistSnapshot, sha256: str, *, how: str) -> None:
        before = self.version
        self._local.replace(snapshot)
        self._sha256 = sha256
        self.counts[f"installed:{how}"] += 1
        if self._chunk_version is not None and self._chunk_version <= snapshot.version:
            self._chunks, self._chunk_version, self._chunk_sha = {}, None, None
        log.info(
            "watchlist version %d installed by %s (was %d, %d entries)",
            snapshot.version,
            how,
            before,
            len(snapshot.entries),
        )
        self.report()


def link_reporter(link: Any) -> InstalledFn:
    """``on_installed`` for a gate link: the heartbeat version and a durable ``WatchlistAck``."""

    def installed(version: int, sha256: str) -> None:
        report = getattr(link, "report_watchlist_version", None)
        if report is not None:
            report(version)
        link.publish_event(WatchlistAck(version=version, sha256=sha256))

    return installed
