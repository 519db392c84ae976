"""What the gate machine asks the runtime to do. The machine performs none of these itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge.hardware.base import DoorCommand, Indicator
from protocol.messages import CrossingRecord, GateEvent, GateState


@dataclass(frozen=True)
class Door:
    """Execute one door command on the hardware."""

    command: DoorCommand


@dataclass(frozen=True)
class ReleaseAll:
    """Emergency: unlock and open both doors now."""


@dataclass(frozen=True)
class Indicate:
    indicator: Indicator


@dataclass(frozen=True)
class ShowMessage:
    """Show the traveler screen text with this key (edge/gate/messages.py)."""

    key: str


@dataclass(frozen=True)
class Publish:
    """Publish durably through the link's outbox."""

    payload: GateEvent | CrossingRecord


@dataclass(frozen=True)
class PublishState:
    """Publish the retained gate state."""

    state: GateState


@dataclass(frozen=True)
class StartTimer:
    """Deliver ``TimerExpired(name, token)`` at ``deadline_ms`` unless cancelled first."""

    timer: str
    token: int
    deadline_ms: int


@dataclass(frozen=True)
class CancelTimer:
    timer: str
    token: int


RequestKind = Literal["read_document", "check_document", "verify_fingerprint", "verify_face"]


@dataclass(frozen=True)
class Request:
    """Run a recognition step and feed its result back as an event."""

    kind: RequestKind


Effect = Door | ReleaseAll | Indicate | ShowMessage | Publish | PublishState | StartTimer | CancelTimer | Request
