"""Publishing the current watchlist version to gates: signed notice, delta and snapshot chunks.

Order on the wire, so a gate that reacts to the notice finds the data already there:

1. the snapshot, cut into chunks by bytes, each retained on ``snapshot/{version}/{index}``;
2. the delta from the previous version, retained on ``delta/{version}``, when it fits one
   envelope (a large import does not: gates then assemble the snapshot);
3. the retained ``WatchlistVersionNotice`` (``base_version`` set when a delta was sent);
4. the retained topics of older published versions are cleared (an empty retained message),
   so the broker holds one version and a reconnecting gate is not fed old lists.

Everything is sealed by central (sender "central"). The transport is a ``publish(topic,
payload, retain)`` callable: :func:`paho_publisher` adapts a paho client, tests pass a fake.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import CommandNotSent
from central.models import from_ms
from central.watchlists import service
from central.watchlists.models import WatchlistVersion
from edge.watchlist.snapshot import WatchlistDelta, WatchlistSnapshot
from protocol.envelope import CENTRAL_SENDER, MAX_MESSAGE_BYTES, seal
from protocol.errors import MalformedMessage
from protocol.keys import KeyPair
from protocol.messages import WatchlistVersionNotice
from protocol.topics import WATCHLIST_NOTICE
from protocol.watchlist import (
    WatchlistDeltaMessage,
    WatchlistSnapshotChunk,
    delta_topic,
    seal_watchlist,
    snapshot_chunk_topic,
)

log = logging.getLogger(__name__)

PublishFn = Callable[[str, bytes, bool], None]
# Room left in each envelope for its own fields, the chunk fields and the signature (~600 B).
ENVELOPE_OVERHEAD_BYTES = 2048
DEFAULT_CHUNK_BUDGET_BYTES = MAX_MESSAGE_BYTES - ENVELOPE_OVERHEAD_BYTES


@dataclass(frozen=True)
class Publication:
    """What one publication sent."""

    version: int
    sha256: str
    entries: int
    chunks: int
    delta_sent: bool
    cleared_versions: tuple[int, ...]
    messages: int


def _size(entry_json: dict) -> int:
    return len(json.dumps(entry_json, separators=(",", ":"), ensure_ascii=False).encode())


def chunk_snapshot(
    snapshot: WatchlistSnapshot, sha256: str, *, budget_bytes: int = DEFAULT_CHUNK_BUDGET_BYTES
) -> list[WatchlistSnapshotChunk]:
    """Cut *snapshot* into chunks whose entries take at most *budget_bytes* of JSON each,
    in canonical order. An empty list is one empty chunk, so "version N is empty" is sayable."""
    groups: list[list[dict]] = [[]]
    used = 0
    for entry in snapshot.entries:
        item = entry.model_dump(mode="json")
        size = _size(item) + 1  # the comma between array items
        if size > budget_bytes:
            raise ValueError(f"watchlist entry {entry.entry_id} alone is {size} bytes, over the chunk budget")
        if used + size > budget_bytes and groups[-1]:
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += size
    return [
        WatchlistSnapshotChunk(
            version=snapshot.version, index=i, count=len(groups), total_entries=len(snapshot.entries),
            sha256=sha256, entries=tuple(group),
        )
        for i, group in enumerate(groups)
    ]


def delta_message(delta: WatchlistDelta, *, sha256: str, total_entries: int) -> WatchlistDeltaMessage:
    return WatchlistDeltaMessage(
        base_version=delta.base_version, version=delta.version, total_entries=total_entries, sha256=sha256,
        added=tuple(e.model_dump(mode="json") for e in delta.added),
        updated=tuple(e.model_dump(mode="json") for e in delta.updated),
        removed=delta.removed,
    )


def publish_current(
    session: Session, *, key: KeyPair, publish: PublishFn, now_ms: int,
    budget_bytes: int = DEFAULT_CHUNK_BUDGET_BYTES,
) -> Publication:
    """Publish the current version and clear older retained data; records the publication on
    the version row (the caller commits). Raises what *publish* raises (``CommandNotSent``)."""
    snapshot = service.current_snapshot(session)
    version = snapshot.version
    sha256 = service.snapshot_sha256(snapshot)
    chunks = chunk_snapshot(snapshot, sha256, budget_bytes=budget_bytes)
    sent = 0
    for chunk in chunks:
        data = seal_watchlist(chunk, sender=CENTRAL_SENDER, key=key, seq=version, now_ms=now_ms)
        publish(snapshot_chunk_topic(version, chunk.index), data, True)
        sent += 1
    delta_sent = False
    if version >= 1:
        delta = service.delta_between(session, version - 1, version)
        try:
            data = seal_watchlist(
                delta_message(delta, sha256=sha256, total_entries=len(snapshot.entries)),
                sender=CENTRAL_SENDER, key=key, seq=version, now_ms=now_ms,
            )
        except MalformedMessage:
            log.info("watchlist delta %d->%d too large for one message; gates use the snapshot", version - 1, version)
        else:
            publish(delta_topic(version), data, True)
            delta_sent = True
            sent += 1
    notice = WatchlistVersionNotice(
        version=version, entries=len(snapshot.entries), sha256=sha256, published_at_ms=now_ms,
        base_version=version - 1 if delta_sent else None,
    )
    publish(WATCHLIST_NOTICE, seal(notice, sender=CENTRAL_SENDER, key=key, seq=version, now_ms=now_ms), True)
    sent += 1
    cleared = _clear_older(session, version, publish)
    row = session.get(WatchlistVersion, version)
    if row is not None:
        row.published_at = from_ms(now_ms)
        row.chunk_count = len(chunks)
        row.retained_cleared = False
    session.flush()
    log.info(
        "watchlist version %d published: %d entries, %d chunk(s), delta %s, cleared %s",
        version, len(snapshot.entries), len(chunks), "yes" if delta_sent else "no", list(cleared) or "none",
    )
    return Publication(version, sha256, len(snapshot.entries), len(chunks), delta_sent, cleared, sent)


def _clear_older(session: Session, version: int, publish: PublishFn) -> tuple[int, ...]:
    # An empty retained message deletes the retained message on that topic (MQTT 3.1.1 §3.3.1.3).
    old = session.scalars(
        select(WatchlistVersion).where(
            WatchlistVersion.version != version,
            WatchlistVersion.published_at.is_not(None),
            WatchlistVersion.retained_cleared.is_(False),
        )
    )
    cleared = []
    for row in old:
        for index in range(row.chunk_count or 0):
            publish(snapshot_chunk_topic(row.version, index), b"", True)
        publish(delta_topic(row.version), b"", True)
        row.retained_cleared = True
        cleared.append(row.version)
    return tuple(sorted(cleared))


def paho_publisher(client: object, *, qos: int = 1, timeout_s: float = 5.0) -> PublishFn:
    """A :data:`PublishFn` over a connected paho client: QoS 1, waits for the PUBACK."""

    def publish(topic: str, payload: bytes, retain: bool) -> None:
        info = client.publish(topic, payload, qos=qos, retain=retain)  # type: ignore[attr-defined]
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise CommandNotSent(f"broker did not take the message for {topic}: {exc}") from exc
        if not info.is_published():
            raise CommandNotSent(f"no PUBACK for {topic} within {timeout_s:.0f} s")

    return publish
