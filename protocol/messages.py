"""One pydantic model per payload that crosses MQTT, as a discriminated union on ``kind``.

Models are frozen, strict and ``extra="forbid"``: a field we do not know is a malformed
message, not something to ignore, because a gate and central that disagree about the contract
must fail loudly. The protocol version is in the topic (``autogate/v1/...``) and in every
envelope; a breaking change gets a new version and both are served side by side.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, TypeAdapter

PROTOCOL_VERSION = 1

GateId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ShortText = Annotated[str, Field(max_length=500)]
DetailValue = Union[str, int, float, bool, None]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Direction(StrEnum):
    DEPARTURE = "departure"  # keberangkatan
    ARRIVAL = "arrival"  # kedatangan


class TravelerDocument(_Wire):
    """The nine fields a document scan captures (SOP tpi-01 "Langkah Utama"; autogate.md §3)."""

    document_number: Annotated[str, Field(min_length=1, max_length=20)]  # nomor dokumen perjalanan
    document_type: Annotated[str, Field(min_length=1, max_length=2)]  # tipe dokumen perjalanan
    issuing_state: Annotated[str, Field(min_length=1, max_length=3)]  # negara yang mengeluarkan
    expiry_date: date | None  # tanggal habis berlaku
    given_names: Annotated[str, Field(max_length=80)]  # nama depan (may be empty: single names)
    surname: Annotated[str, Field(max_length=80)]  # nama keluarga (may be empty: single names)
    sex: Literal["M", "F", "X"]  # jenis kelamin
    birth_date: date | None  # tanggal lahir
    nationality: Annotated[str, Field(min_length=1, max_length=3)]  # kewarganegaraan

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class BiometricResult(_Wire):
    """Outcome of one 1:1 biometric step, as reported in events and crossings."""

    modality: Literal["fingerprint", "face"]
    match: bool
    score: float | None = None
    threshold: float | None = None
    attempts: Annotated[int, Field(ge=0, le=20)] = 1
    refused_reason: ShortText | None = None  # capture quality refusal, e.g. "too dark"


class GateEvent(_Wire):
    """One step of a gate transaction, or a gate-level event (door, emergency, fault).

    Travels through the gate's durable outbox, so every event reaches central exactly once.
    """

    kind: Literal["gate_event"] = "gate_event"
    event: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
    transaction_id: Identifier | None = None
    state_from: Annotated[str, Field(max_length=32)] | None = None
    state_to: Annotated[str, Field(max_length=32)] | None = None
    reason: Annotated[str, Field(max_length=64)] | None = None
    traveler: TravelerDocument | None = None
    details: dict[Annotated[str, Field(max_length=64)], DetailValue] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class CrossingRecord(_Wire):
    """The electronic entry/exit mark (perlintasan) written when the exit door opens (SOP B6)."""

    kind: Literal["crossing"] = "crossing"
    transaction_id: Identifier
    direction: Direction
    traveler: TravelerDocument
    started_at_ms: Annotated[int, Field(ge=0)]
    completed_at_ms: Annotated[int, Field(ge=0)]
    fingerprint: BiometricResult | None = None
    face: BiometricResult | None = None
    # per-step durations, e.g. {"document_scan": 820, "entry_door": 950, "total": 9100}
    timings_ms: dict[Annotated[str, Field(max_length=32)], Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict
    )
    watchlist_version: Annotated[int, Field(ge=0)] | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


MAX_FACE_JPEG_BYTES = 24 * 1024  # two of them and the envelope stay under the 64 KiB message cap


def _from_base64(value: object) -> object:
    if isinstance(value, str):  # JSON carries bytes as base64 text
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("not base64") from exc
    return value


def _jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8\xff"):
        raise ValueError("not a JPEG image")
    return data


FaceJpeg = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    Field(min_length=4, max_length=MAX_FACE_JPEG_BYTES),
    AfterValidator(_jpeg),
    PlainSerializer(lambda data: base64.b64encode(data).decode("ascii"), return_type=str, when_used="json"),
]


class FaceEvidence(_Wire):
    """The captured face beside the enrolled one, for the supervisor deciding a failed face step
    (autogate.md §8: grant a retry or send to the counter) or identifying a held traveler (B3).

    Biometric minimisation: a gate sends this only when an officer must decide (a failed face
    step, or a watchlist hold), as small JPEG crops; central keeps it for a short retention
    period, never in the message ledger.
    """

    kind: Literal["face_evidence"] = "face_evidence"
    transaction_id: Identifier
    captured_jpeg: FaceJpeg
    enrolled_jpeg: FaceJpeg | None = None
    # where the enrolled image came from: the document (chip DG2 / data page) or central's enrolment
    enrolled_source: Literal["document", "enrolment"] | None = None
    score: float | None = None
    threshold: float | None = None
    refused_reason: ShortText | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


MAX_ALARM_JPEG_BYTES = 32 * 1024


def _embedding_b64(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError("embedding is not base64") from exc
    if len(raw) % 4 or not 64 <= len(raw) // 4 <= 1024:
        raise ValueError(f"embedding of {len(raw)} bytes is not 64..1024 float32 values")
    return value


# A face embedding as base64 of little-endian float32 values (protocol/ imports no numpy).
EmbeddingB64 = Annotated[str, Field(max_length=6000), AfterValidator(_embedding_b64)]
AlarmJpeg = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    Field(min_length=4, max_length=MAX_ALARM_JPEG_BYTES),
    AfterValidator(_jpeg),
    PlainSerializer(lambda data: base64.b64encode(data).decode("ascii"), return_type=str, when_used="json"),
]


class AlarmCandidate(_Wire):
    """A watchlist entry the track resembled, with its decision score."""

    entry_id: Annotated[str, Field(min_length=1, max_length=64)]
    score: float


class CctvAlarm(_Wire):
    """A CCTV camera node saw a face resembling a face-watchlist entry (SOP it-05 step 2: the
    notification and audible alarm). One per track and entry: one person walking past is one
    alarm, however many frames showed them.

    Carries what the operator judges by: the scene snapshot, the track's best face crops and a
    few of its frames, the candidate entry and its list, the decision score against the
    threshold in force (fitted for ``target_fpir`` at ``gallery_size``). ``probe_embedding`` is
    the track's face template, which central compares with dismissed alarms ("not this person")
    and deletes with the crops. Travels through the camera's durable outbox.
    """

    kind: Literal["cctv_alarm"] = "cctv_alarm"
    alarm_id: Identifier
    track_id: Annotated[int, Field(ge=0)]
    entry_id: Annotated[str, Field(min_length=1, max_length=64)]
    list: Annotated[str, Field(min_length=1, max_length=32)]
    template_id: Identifier
    score: float
    threshold: float
    target_fpir: Annotated[float, Field(gt=0, lt=1)] | None = None
    gallery_size: Annotated[int, Field(ge=0)]
    frame_scores: tuple[float, ...] = Field(default=(), max_length=16)  # each embedded face's score
    candidates: tuple[AlarmCandidate, ...] = Field(default=(), max_length=5)  # best first
    first_seen_ms: Annotated[int, Field(ge=0)]
    last_seen_ms: Annotated[int, Field(ge=0)]
    frame: Annotated[int, Field(ge=0)]  # source frame of the best face
    frames_seen: Annotated[int, Field(ge=1)]
    faces_embedded: Annotated[int, Field(ge=1)]
    face_watchlist_version: Annotated[int, Field(ge=0)]
    model: Annotated[str, Field(min_length=1, max_length=96)]
    probe_embedding: EmbeddingB64
    snapshot_jpeg: AlarmJpeg | None = None
    face_jpegs: tuple[AlarmJpeg, ...] = Field(default=(), max_length=3)
    track_jpegs: tuple[AlarmJpeg, ...] = Field(default=(), max_length=8)
    track_frames: tuple[Annotated[int, Field(ge=0)], ...] = Field(default=(), max_length=8)

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class GateState(_Wire):
    """The gate's current state, published retained so a new console sees it at once."""

    kind: Literal["gate_state"] = "gate_state"
    state: Annotated[str, Field(min_length=1, max_length=32)]
    entry_door: Literal["open", "closed", "locked", "moving", "unknown"]
    exit_door: Literal["open", "closed", "locked", "moving", "unknown"]
    since_ms: Annotated[int, Field(ge=0)]
    direction: Direction
    transaction_id: Identifier | None = None
    traveler: TravelerDocument | None = None
    alarm: Annotated[str, Field(max_length=64)] | None = None
    retries: Annotated[int, Field(ge=0, le=20)] = 0
    # The supervisor commands this state accepts now (its guards evaluated): the console offers
    # these and no others, so an officer is never shown a button the gate would refuse.
    commands: Annotated[tuple[Annotated[str, Field(max_length=32, pattern=r"^[a-z_]+$")], ...],
                        Field(max_length=16)] = ()

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class Heartbeat(_Wire):
    """Liveness of a gate; the same model, with ``online=False``, is its retained last will."""

    kind: Literal["heartbeat"] = "heartbeat"
    online: bool
    uptime_s: Annotated[float, Field(ge=0)] = 0.0
    outbox_depth: Annotated[int, Field(ge=0)] = 0
    last_seq: Annotated[int, Field(ge=0)] = 0
    watchlist_version: Annotated[int, Field(ge=0)] | None = None
    software_version: Annotated[str, Field(max_length=32)] = ""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class CommandAction(StrEnum):
    GRANT_RETRY = "grant_retry"  # beri kesempatan ulang (tpi-08 steps 5-6)
    SEND_TO_COUNTER = "send_to_counter"  # arahkan ke konter manual
    RELEASE_HELD = "release_held"  # held traveler handed to officers (tpi-03 step 6)
    ACKNOWLEDGE_ALARM = "acknowledge_alarm"
    OUT_OF_SERVICE = "out_of_service"
    BACK_IN_SERVICE = "back_in_service"
    RESET = "reset"
    LANE_CLEAR = "lane_clear"  # the supervisor confirms nobody is left in the mantrap (jalur kosong)
    # Central saw a sequence gap: the gate republishes that range from its outbox, which keeps
    # delivered rows for a retention period for exactly this.
    RESEND_EVENTS = "resend_events"


class Command(_Wire):
    """A supervisor's order to one gate. Signed by central, expiring, executed at most once."""

    kind: Literal["command"] = "command"
    command_id: Identifier
    gate_id: GateId
    action: CommandAction
    issued_by: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(max_length=500)] = ""
    transaction_id: Identifier | None = None
    expires_at_ms: Annotated[int, Field(ge=0)]
    from_seq: Annotated[int, Field(ge=1)] | None = None  # resend_events only
    to_seq: Annotated[int, Field(ge=1)] | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class CommandAck(_Wire):
    """The gate's answer to a command: executed, or refused with the reason."""

    kind: Literal["command_ack"] = "command_ack"
    command_id: Identifier
    accepted: bool
    reason: Annotated[str, Field(max_length=200)] = ""
    state_after: Annotated[str, Field(max_length=32)] | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class WatchlistVersionNotice(_Wire):
    """Central announces the watchlist version gates must run, and where its data is."""

    kind: Literal["watchlist_notice"] = "watchlist_notice"
    version: Annotated[int, Field(ge=0)]
    entries: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    published_at_ms: Annotated[int, Field(ge=0)]
    base_version: Annotated[int, Field(ge=0)] | None = None  # set for a delta

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class WatchlistAck(_Wire):
    """A gate reports the watchlist version it now screens with."""

    kind: Literal["watchlist_ack"] = "watchlist_ack"
    version: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


Payload = Annotated[
    Union[
        GateEvent,
        CrossingRecord,
        FaceEvidence,
        CctvAlarm,
        GateState,
        Heartbeat,
        Command,
        CommandAck,
        WatchlistVersionNotice,
        WatchlistAck,
    ],
    Field(discriminator="kind"),
]

payload_adapter: TypeAdapter[Payload] = TypeAdapter(Payload)
