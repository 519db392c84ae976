"""Watchlist data on the wire: snapshot chunks and deltas, their topics, and their envelopes.

Central announces a version with the retained ``WatchlistVersionNotice`` (protocol.messages) and
carries the data in two payload kinds defined here:

    autogate/v1/watchlist/snapshot/{version}/{index}   one chunk of the full list (retained)
    autogate/v1/watchlist/delta/{version}              the change from version-1 (retained)

A snapshot is cut into chunks by bytes so each sealed envelope stays under
``MAX_MESSAGE_BYTES``; every chunk carries the SHA-256 of the whole canonical snapshot, which
the gate checks after assembling, so a chunk from another build of the "same" version is caught.
Entries travel as plain JSON objects: protocol/ imports nothing else of ours, and the gate
validates them with its own ``WatchlistEntry`` model.

These two kinds are not (yet) members of :data:`protocol.messages.Payload`, so they are sealed
and opened by :func:`seal_watchlist` / :func:`open_watchlist`, which build the very same
envelope (fields, canonical bytes, Ed25519 signature) and apply the same checks in the same
order as :func:`protocol.envelope.open_envelope`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
)

from protocol.envelope import (
    KeyLookup,
    SenderName,
    open_envelope,
    seal,
)
from protocol.keys import KeyPair
from protocol.messages import PROTOCOL_VERSION
from protocol.topics import ROOT

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
EntryObject = dict[str, JsonValue]

WATCHLIST_ROOT = f"{ROOT}/watchlist"
SNAPSHOT_FILTER = f"{WATCHLIST_ROOT}/snapshot/+/+"
DELTA_FILTER = f"{WATCHLIST_ROOT}/delta/+"


class _Wire(BaseModel):
    # Not strict: entries are JSON arrays on the wire and tuples here (like messages.GateEvent).
    model_config = ConfigDict(frozen=True, extra="forbid")


class WatchlistSnapshotChunk(_Wire):
    """Chunk ``index`` of ``count`` of the snapshot at ``version``; entries in canonical order."""

    kind: Literal["watchlist_chunk"] = "watchlist_chunk"
    version: Annotated[int, Field(ge=0)]
    index: Annotated[int, Field(ge=0)]
    count: Annotated[int, Field(ge=1, le=100_000)]
    total_entries: Annotated[int, Field(ge=0)]
    sha256: Sha256Hex  # of the whole canonical snapshot, not of this chunk
    entries: tuple[EntryObject, ...] = ()


class WatchlistDeltaMessage(_Wire):
    """The change from ``base_version`` to ``version``; ``sha256`` is of the resulting snapshot."""

    kind: Literal["watchlist_delta"] = "watchlist_delta"
    base_version: Annotated[int, Field(ge=0)]
    version: Annotated[int, Field(ge=1)]
    total_entries: Annotated[int, Field(ge=0)]
    sha256: Sha256Hex
    added: tuple[EntryObject, ...] = ()
    updated: tuple[EntryObject, ...] = ()
    removed: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()


WatchlistPayload = Annotated[WatchlistSnapshotChunk | WatchlistDeltaMessage, Field(discriminator="kind")]


class WatchlistEnvelope(BaseModel):
    """Same fields as :class:`protocol.envelope.Envelope`, with a watchlist payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = PROTOCOL_VERSION  # type: ignore[assignment]
    sender: SenderName
    message_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    seq: Annotated[int, Field(ge=0)]
    sent_at_ms: Annotated[int, Field(ge=0)]
    payload: WatchlistPayload
    signature: str


watchlist_payload_adapter: TypeAdapter[WatchlistPayload] = TypeAdapter(WatchlistPayload)


# ---------------------------------------------------------------------------------- topics


def _version_segment(version: int) -> str:
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"invalid watchlist version {version!r}")
    return str(version)


def snapshot_chunk_topic(version: int, index: int) -> str:
    return f"{WATCHLIST_ROOT}/snapshot/{_version_segment(version)}/{_version_segment(index)}"


def delta_topic(version: int) -> str:
    return f"{WATCHLIST_ROOT}/delta/{_version_segment(version)}"


def parse_watchlist_topic(topic: str) -> tuple[Literal["snapshot", "delta"], int, int | None]:
    """``("snapshot", version, index)`` or ``("delta", version, None)``; ValueError otherwise."""
    prefix = f"{WATCHLIST_ROOT}/"
    if not topic.startswith(prefix):
        raise ValueError(f"not a watchlist data topic: {topic!r}")
    parts = topic[len(prefix):].split("/")
    try:
        if parts[0] == "snapshot" and len(parts) == 3 and all(p.isdigit() for p in parts[1:]):
            return "snapshot", int(parts[1]), int(parts[2])
        if parts[0] == "delta" and len(parts) == 2 and parts[1].isdigit():
            return "delta", int(parts[1]), None
    except ValueError:
        pass
    raise ValueError(f"not a watchlist data topic: {topic!r}")


def gate_acl_lines() -> str:
    """Mosquitto ACL lines every gate user needs to receive watchlist data (read only)."""
    return f"topic read {SNAPSHOT_FILTER}\ntopic read {DELTA_FILTER}\n"


# ---------------------------------------------------------------------------------- envelopes


def seal_watchlist(
    payload: WatchlistSnapshotChunk | WatchlistDeltaMessage,
    *,
    sender: str,
    key: KeyPair,
    seq: int,
    now_ms: int,
    message_id: str | None = None,
) -> bytes:
    """Sign *payload*; raises ``MalformedMessage`` if the result would exceed the size limit."""
    return seal(
        payload, sender=sender, key=key, seq=seq, now_ms=now_ms, message_id=message_id,
        envelope_model=WatchlistEnvelope,
    )


def open_watchlist(
    data: bytes,
    *,
    keys: KeyLookup,
    now_ms: int,
    max_future_ms: int = 120_000,
    expected_sender: str | None = None,
) -> WatchlistEnvelope:
    """Verify and parse a chunk or delta envelope; the checks of ``open_envelope``, same order.

    No age limit: chunks and deltas are retained, so a gate that reconnects reads old ones.
    """
    return open_envelope(
        data, keys=keys, now_ms=now_ms, max_future_ms=max_future_ms, max_age_ms=None,
        expected_sender=expected_sender, envelope_model=WatchlistEnvelope,
    )
