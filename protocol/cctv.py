"""CCTV face recognition on the wire (SOP it-05): camera topics, the face watchlist, person flags.

    autogate/v1/cctv/{camera}/alarms     camera -> central   CctvAlarm (QoS 1, the camera's outbox)
    autogate/v1/cctv/{camera}/health     camera -> central   Heartbeat; last will = offline (retained)
    autogate/v1/cctv/{camera}/state      camera -> central   (reserved; nothing is published yet)
    autogate/v1/cctv/{camera}/commands   central -> camera   signed commands (resend_events)
    autogate/v1/cctv/watchlist/notice                  central -> cameras  face list version (retained)
    autogate/v1/cctv/watchlist/snapshot/{version}/{i}  central -> cameras  FaceListChunk (retained)
    autogate/v1/cctv/watchlist/delta/{version}         central -> cameras  FaceListDelta (retained)
    autogate/v1/cctv/flags                             central -> gates    PersonFlags (retained)

The face list travels like the gate watchlist (``protocol.watchlist``): a retained signed notice
(the same ``WatchlistVersionNotice`` model, on the CCTV notice topic), the snapshot cut into
retained chunks that each carry the SHA-256 of the whole canonical snapshot, and a delta from
the previous version when it fits one message. A template is an embedding of one enrolled photo
(base64 float32), its entry id and list; names and photos never leave central.

``PersonFlags`` is the set of people a CCTV operator's alarm was confirmed for and flagged "to
every gate": a gate treats a similar watchlist hit on a flagged entry as identical (a hold).

Chunks, deltas and flags are sealed with the envelope of ``protocol.envelope`` (same fields,
bytes and signature) over their own payload union, like the gate watchlist's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from protocol.envelope import KeyLookup, SenderName, open_envelope, seal
from protocol.keys import KeyPair
from protocol.messages import PROTOCOL_VERSION, EmbeddingB64, Identifier
from protocol.topics import ROOT

CCTV_ROOT = f"{ROOT}/cctv"
CameraChannel = Literal["alarms", "health", "state", "commands"]
CAMERA_CHANNELS: tuple[CameraChannel, ...] = ("alarms", "health", "state", "commands")
FACE_LIST_ROOT = f"{CCTV_ROOT}/watchlist"
FACE_LIST_NOTICE = f"{FACE_LIST_ROOT}/notice"
FACE_SNAPSHOT_FILTER = f"{FACE_LIST_ROOT}/snapshot/+/+"
FACE_DELTA_FILTER = f"{FACE_LIST_ROOT}/delta/+"
PERSON_FLAGS = f"{CCTV_ROOT}/flags"
# Camera ids share the topic segment with "watchlist" and "flags": those two are reserved.
RESERVED_CAMERA_IDS = frozenset({"watchlist", "flags"})

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
EntryId = Annotated[str, Field(min_length=1, max_length=64)]
ListName = Annotated[str, Field(min_length=1, max_length=32)]


# ---------------------------------------------------------------------------------- topics


def camera_topic(camera_id: str, channel: CameraChannel) -> str:
    if not camera_id or any(c in camera_id for c in "/+#") or camera_id in RESERVED_CAMERA_IDS:
        raise ValueError(f"invalid camera id {camera_id!r}")
    return f"{CCTV_ROOT}/{camera_id}/{channel}"


def camera_alarms(camera_id: str) -> str:
    return camera_topic(camera_id, "alarms")


def camera_health(camera_id: str) -> str:
    return camera_topic(camera_id, "health")


def camera_state(camera_id: str) -> str:
    return camera_topic(camera_id, "state")


def camera_commands(camera_id: str) -> str:
    return camera_topic(camera_id, "commands")


def all_cameras(channel: CameraChannel) -> str:
    """The subscription filter for one channel of every camera."""
    return f"{CCTV_ROOT}/+/{channel}"


@dataclass(frozen=True)
class CameraTopic:
    camera_id: str
    channel: CameraChannel


def parse_camera_topic(topic: str) -> CameraTopic:
    """Split ``autogate/v1/cctv/{camera}/{channel}``; ValueError for anything else."""
    parts = topic.split("/")
    if (len(parts) != 5 or "/".join(parts[:3]) != CCTV_ROOT or parts[4] not in CAMERA_CHANNELS
            or parts[3] in RESERVED_CAMERA_IDS or not parts[3]):
        raise ValueError(f"not a camera topic: {topic!r}")
    return CameraTopic(camera_id=parts[3], channel=parts[4])  # type: ignore[arg-type]


def is_camera_topic(topic: str) -> bool:
    return topic.startswith(CCTV_ROOT + "/")


def _segment(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"invalid face list version or index {value!r}")
    return str(value)


def face_snapshot_topic(version: int, index: int) -> str:
    return f"{FACE_LIST_ROOT}/snapshot/{_segment(version)}/{_segment(index)}"


def face_delta_topic(version: int) -> str:
    return f"{FACE_LIST_ROOT}/delta/{_segment(version)}"


def camera_acl(camera_id: str) -> str:
    """Mosquitto ``acl_file`` stanza for one camera's broker user (the user name is the camera id)."""
    return "\n".join([
        f"user {camera_id}",
        f"topic write {camera_alarms(camera_id)}",
        f"topic write {camera_health(camera_id)}",
        f"topic write {camera_state(camera_id)}",
        f"topic read {camera_commands(camera_id)}",
        f"topic read {FACE_LIST_NOTICE}",
        f"topic read {FACE_SNAPSHOT_FILTER}",
        f"topic read {FACE_DELTA_FILTER}",
        "",
    ])


def gate_acl_lines() -> str:
    """Mosquitto ACL line every gate user needs to receive the person flags (read only)."""
    return f"topic read {PERSON_FLAGS}\n"


# ---------------------------------------------------------------------------------- payloads


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FaceTemplateRecord(_Wire):
    """One enrolled face: its template, the watchlist entry it belongs to and that entry's list."""

    template_id: Identifier
    entry_id: EntryId
    list: ListName
    embedding: EmbeddingB64


class FaceListChunk(_Wire):
    """Chunk ``index`` of ``count`` of the face list at ``version``, templates in canonical order."""

    kind: Literal["face_list_chunk"] = "face_list_chunk"
    version: Annotated[int, Field(ge=0)]
    index: Annotated[int, Field(ge=0)]
    count: Annotated[int, Field(ge=1, le=100_000)]
    total_templates: Annotated[int, Field(ge=0)]
    model: Annotated[str, Field(min_length=1, max_length=96)]  # embedder name@version of every template
    sha256: Sha256Hex  # of the whole canonical snapshot, not of this chunk
    templates: tuple[FaceTemplateRecord, ...] = ()


class FaceListDelta(_Wire):
    """The change from ``base_version`` to ``version``; ``sha256`` is of the resulting snapshot."""

    kind: Literal["face_list_delta"] = "face_list_delta"
    base_version: Annotated[int, Field(ge=0)]
    version: Annotated[int, Field(ge=1)]
    total_templates: Annotated[int, Field(ge=0)]
    model: Annotated[str, Field(min_length=1, max_length=96)]
    sha256: Sha256Hex
    added: tuple[FaceTemplateRecord, ...] = ()
    removed: tuple[Identifier, ...] = ()


class PersonFlag(_Wire):
    """A person a CCTV alarm was confirmed for, flagged to every gate until ``expires_at_ms``."""

    flag_id: Identifier
    entry_id: EntryId
    list: ListName
    camera_id: Annotated[str, Field(min_length=1, max_length=64)]
    raised_by: Annotated[str, Field(min_length=1, max_length=64)]
    raised_at_ms: Annotated[int, Field(ge=0)]
    expires_at_ms: Annotated[int, Field(ge=0)]
    case_id: Annotated[int, Field(ge=1)] | None = None


class PersonFlags(_Wire):
    """Every flag in force (the whole set, retained: a gate that connects later gets it)."""

    kind: Literal["person_flags"] = "person_flags"
    flags: tuple[PersonFlag, ...] = Field(default=(), max_length=500)
    published_at_ms: Annotated[int, Field(ge=0)]


CctvPayload = Annotated[FaceListChunk | FaceListDelta | PersonFlags, Field(discriminator="kind")]


class CctvEnvelope(BaseModel):
    """Same fields as :class:`protocol.envelope.Envelope`, with a CCTV distribution payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = PROTOCOL_VERSION  # type: ignore[assignment]
    sender: SenderName
    message_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    seq: Annotated[int, Field(ge=0)]
    sent_at_ms: Annotated[int, Field(ge=0)]
    payload: CctvPayload
    signature: str


cctv_payload_adapter: TypeAdapter[CctvPayload] = TypeAdapter(CctvPayload)


def seal_cctv(payload: FaceListChunk | FaceListDelta | PersonFlags, *, sender: str, key: KeyPair, seq: int,
              now_ms: int, message_id: str | None = None) -> bytes:
    """Sign *payload*; raises ``MalformedMessage`` if the result would exceed the size limit."""
    return seal(payload, sender=sender, key=key, seq=seq, now_ms=now_ms, message_id=message_id,
                envelope_model=CctvEnvelope)


def open_cctv(data: bytes, *, keys: KeyLookup, now_ms: int, max_future_ms: int = 120_000,
              expected_sender: str | None = None) -> CctvEnvelope:
    """Verify and parse a face list chunk or delta, or the person flags; the checks of
    ``open_envelope`` in the same order. No age limit: all three are retained."""
    return open_envelope(data, keys=keys, now_ms=now_ms, max_future_ms=max_future_ms, max_age_ms=None,
                         expected_sender=expected_sender, envelope_model=CctvEnvelope)
