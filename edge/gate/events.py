"""What the gate machine hears: facts from the hardware, the recognition engines, timers and
supervisors. Each event is a frozen value with a ``name`` the transition table is keyed on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args

from edge.hardware.base import DoorName
from protocol.messages import BiometricResult, TravelerDocument

WatchlistLevel = Literal["identical", "similar", "none"]


@dataclass(frozen=True)
class DocumentPresented:
    """The passport reader detected a document on its window (SOP step 3 starts)."""

    name: ClassVar[str] = "document_presented"


@dataclass(frozen=True)
class DocumentRead:
    """The MRZ was read (``traveler`` set) or could not be read (``problem`` set; SOP B1)."""

    traveler: TravelerDocument | None
    problem: str | None = None
    name: ClassVar[str] = "document_read"


@dataclass(frozen=True)
class DocumentChecked:
    """Validity, expiry and watchlist results for the document just read (SOP §3)."""

    accepted: bool
    reasons: tuple[str, ...] = ()
    watchlist_level: WatchlistLevel = "none"
    watchlist_entry: str | None = None
    watchlist_version: int | None = None
    name: ClassVar[str] = "document_checked"


@dataclass(frozen=True)
class FingerPlaced:
    """The fingerprint sensor detected a finger (SOP step 5)."""

    name: ClassVar[str] = "finger_placed"


# Biometric refusals that a retry at the gate cannot fix: no enrolled template to compare with,
# or none obtainable now. The machine records them as their own failure reason so the supervisor
# and the counter officer see why (tidak terdaftar / data rekam tidak tersedia).
NOT_ENROLLED = "not enrolled"
ENROLMENT_UNAVAILABLE = "enrolment unavailable"
ENROLMENT_FAILURES = {NOT_ENROLLED: "not_enrolled", ENROLMENT_UNAVAILABLE: "enrolment_unavailable"}


def biometric_failure(modality: str, result: BiometricResult) -> str:
    """The transaction's failure reason for a biometric result that did not match."""
    if result.refused_reason in ENROLMENT_FAILURES:
        return ENROLMENT_FAILURES[result.refused_reason]
    if modality == "fingerprint":
        return "fingerprint_unreadable" if result.refused_reason else "fingerprint_mismatch"
    return "face_not_captured" if result.refused_reason else "face_mismatch"


@dataclass(frozen=True)
class FingerprintResult:
    result: BiometricResult
    name: ClassVar[str] = "fingerprint_result"


@dataclass(frozen=True)
class FacePresented:
    """The face camera has a face in view (SOP step 6)."""

    name: ClassVar[str] = "face_presented"


@dataclass(frozen=True)
class FaceResult:
    result: BiometricResult
    name: ClassVar[str] = "face_result"


DoorEventName = Literal["door_opened", "door_closed", "door_locked", "door_unlocked", "door_obstructed"]


@dataclass(frozen=True)
class DoorEvent:
    """A door reached an end position (or reversed on an obstruction)."""

    kind: DoorEventName
    door: DoorName

    @property
    def name(self) -> str:
        return self.kind


PersonEventName = Literal[
    "person_entered",
    "person_exited",
    "person_backed_out",
    "mantrap_clear",
    "tailgating",
]


@dataclass(frozen=True)
class PersonEvent:
    """What the beam sensors worked out about people in the mantrap."""

    kind: PersonEventName
    detail: str = ""

    @property
    def name(self) -> str:
        return self.kind


@dataclass(frozen=True)
class EmergencyInput:
    """The fire alarm input changed. Active: the hardware has already released every door."""

    active: bool
    detail: str = ""

    @property
    def name(self) -> str:
        return "emergency" if self.active else "emergency_cleared"


@dataclass(frozen=True)
class FaultInput:
    """A door or sensor fault was raised (or every fault has recovered)."""

    active: bool
    door: DoorName | None = None
    detail: str = ""

    @property
    def name(self) -> str:
        return "fault" if self.active else "fault_cleared"


@dataclass(frozen=True)
class TimerExpired:
    """A timer the machine started has run out; ``token`` tells a stale timer from a live one."""

    timer: str
    token: int
    name: ClassVar[str] = "timeout"


SupervisorAction = Literal[
    "grant_retry",
    "send_to_counter",
    "release_held",
    "acknowledge_alarm",
    "out_of_service",
    "back_in_service",
    "reset",
    "lane_clear",  # the supervisor sees the mantrap empty after a referral or release
]

# Every supervisor command the machine knows, derived from the one declaration above.
SUPERVISOR_ACTIONS: tuple[str, ...] = get_args(SupervisorAction)


@dataclass(frozen=True)
class SupervisorCommand:
    """A verified supervisor order (signature, expiry and target already checked by the link)."""

    action: SupervisorAction
    issued_by: str
    reason: str = ""
    command_id: str = ""
    details: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.action


GateInput = (
    DocumentPresented
    | DocumentRead
    | DocumentChecked
    | FingerPlaced
    | FingerprintResult
    | FacePresented
    | FaceResult
    | DoorEvent
    | PersonEvent
    | EmergencyInput
    | FaultInput
    | TimerExpired
    | SupervisorCommand
)

EVENT_NAMES: tuple[str, ...] = (
    "document_presented",
    "document_read",
    "document_checked",
    "finger_placed",
    "fingerprint_result",
    "face_presented",
    "face_result",
    "door_opened",
    "door_closed",
    "door_locked",
    "door_unlocked",
    "door_obstructed",
    "person_entered",
    "person_exited",
    "person_backed_out",
    "mantrap_clear",
    "tailgating",
    "emergency",
    "emergency_cleared",
    "fault",
    "fault_cleared",
    "timeout",
    "grant_retry",
    "send_to_counter",
    "release_held",
    "acknowledge_alarm",
    "out_of_service",
    "back_in_service",
    "reset",
    "lane_clear",
)

# Reports of the physical world: never "impossible", only sometimes irrelevant.
OBSERVATIONS: frozenset[str] = frozenset(
    {
        "door_opened",
        "door_closed",
        "door_locked",
        "door_unlocked",
        "door_obstructed",
        "person_entered",
        "person_exited",
        "person_backed_out",
        "mantrap_clear",
        "emergency_cleared",
        "fault_cleared",
    }
)
