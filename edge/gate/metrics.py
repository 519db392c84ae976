"""Per-step timings against the SOP standards, and the gate's counters (pure data).

Step names are the keys of ``CrossingRecord.timings_ms``. A step "over standard" took longer than
the SOP allows (scan 5 s, each door movement 1 s; autogate.md §5); biometric steps have no SOP
standard ("kondisional") and are only measured.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

STEP_NAMES: tuple[str, ...] = (
    "document_scan",
    "entry_door_open",
    "entry_door_close",
    "fingerprint",
    "face",
    "supervisor_wait",
    "entry_door_reopen",
    "entry_door_reclose",
    "exit_door_open",
    "total",
)


def step_standards_ms(scan_ms: int, door_ms: int) -> dict[str, int]:
    """The SOP standard of each step that has one."""
    return {
        "document_scan": scan_ms,
        "entry_door_open": door_ms,
        "entry_door_close": door_ms,
        "entry_door_reopen": door_ms,
        "entry_door_reclose": door_ms,
        "exit_door_open": door_ms,
    }


@dataclass
class StepStats:
    count: int = 0
    total_ms: int = 0
    max_ms: int = 0
    over_standard: int = 0

    def add(self, ms: int, standard_ms: int | None) -> None:
        self.count += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)
        if standard_ms is not None and ms > standard_ms:
            self.over_standard += 1

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.count if self.count else 0.0


@dataclass
class GateMetrics:
    """Counters a health endpoint or heartbeat can expose."""

    outcomes: Counter[str] = field(default_factory=Counter)
    rejected_events: Counter[str] = field(default_factory=Counter)  # "state:event"
    unsafe_commands_suppressed: int = 0
    internal_errors: int = 0
    steps: dict[str, StepStats] = field(default_factory=dict)

    def record_timings(self, timings_ms: dict[str, int], standards_ms: dict[str, int]) -> None:
        for name, ms in timings_ms.items():
            self.steps.setdefault(name, StepStats()).add(ms, standards_ms.get(name))

    def as_dict(self) -> dict[str, object]:
        return {
            "outcomes": dict(self.outcomes),
            "rejected_events": dict(self.rejected_events),
            "unsafe_commands_suppressed": self.unsafe_commands_suppressed,
            "internal_errors": self.internal_errors,
            "steps": {
                name: {
                    "count": s.count,
                    "mean_ms": round(s.mean_ms, 1),
                    "max_ms": s.max_ms,
                    "over_standard": s.over_standard,
                }
                for name, s in self.steps.items()
            },
        }
