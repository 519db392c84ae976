"""Settings of one gate's transaction machine. Every timeout here belongs to a state (STYLE §4.6).

The SOP fixes two standards (scan 5 s, each door 1 s, autogate.md §5); the rest are project
decisions documented in docs/gate.md ("Decisions on the SOP's open points").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.gate.errors import GateConfigError
from protocol.messages import Direction


class GateConfig(BaseModel):
    """Timeouts in seconds on the injected clock; counts are per transaction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gate_id: str = Field(
        "gate-1",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$",
        description="Gate id, as in topics",
    )
    direction: Direction = Field(
        Direction.DEPARTURE,
        description="keberangkatan (departure) or kedatangan (arrival)",
    )
    scan_standard_s: float = Field(5.0, gt=0, le=60, description="SOP step 3 standard; also the scan timeout")
    door_standard_s: float = Field(1.0, gt=0, le=10, description="SOP steps 4, 7, 8: one door movement")
    door_timeout_s: float = Field(
        3.0,
        gt=0,
        le=30,
        description="A commanded door that has not arrived by then is a fault",
    )
    walk_in_timeout_s: float = Field(
        20.0,
        gt=0,
        le=300,
        description="Entry open and nobody walked in: close, abandon",
    )
    finger_wait_s: float = Field(
        30.0,
        gt=0,
        le=300,
        description="Inside, no finger placed: notify the supervisor",
    )
    face_wait_s: float = Field(20.0, gt=0, le=300, description="No face captured: notify the supervisor")
    supervisor_timeout_s: float = Field(
        60.0,
        gt=0,
        le=900,
        description="No supervisor decision on a B4/B5 notification: send to counter",
    )
    walk_out_timeout_s: float = Field(
        30.0,
        gt=0,
        le=600,
        description="A door is open to leave and nobody left: notify the supervisor (repeats)",
    )
    max_retries: int = Field(2, ge=0, le=10, description="Supervisor-granted retries per biometric step")
    passback_window_s: float = Field(
        1800.0,
        ge=0,
        le=7 * 86400,
        description="A document that crossed this recently is refused (0 = off)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> GateConfig:
        if self.door_timeout_s <= self.door_standard_s:
            raise GateConfigError("door_timeout_s must be longer than the 1 s door standard")
        return self

    def ms(self, seconds: float) -> int:
        return round(seconds * 1000)
