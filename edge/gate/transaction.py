"""One traveler's transaction: who, what was decided, and how long each step took (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.messages import BiometricResult, TravelerDocument


@dataclass
class Transaction:
    transaction_id: str
    started_ms: int
    traveler: TravelerDocument | None = None
    hold: bool = False  # cekal identik: hold once inside (SOP B3)
    watchlist_entry: str | None = None
    watchlist_version: int | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    failed_step: str | None = None  # "fingerprint" or "face" while awaiting the supervisor
    failure_reason: str | None = None
    retries: dict[str, int] = field(default_factory=lambda: {"fingerprint": 0, "face": 0})
    fingerprint: BiometricResult | None = None
    face: BiometricResult | None = None
    crossing_recorded: bool = False
    released_by: str | None = None  # audited release of a held traveler
    acknowledged_by: str | None = None
    timings_ms: dict[str, int] = field(default_factory=dict)
    _open_steps: dict[str, int] = field(default_factory=dict)

    def start_step(self, step: str, now_ms: int) -> None:
        self._open_steps[step] = now_ms

    def end_step(self, step: str, now_ms: int) -> None:
        """Close a step; a step run several times (retries) accumulates."""
        started = self._open_steps.pop(step, None)
        if started is not None:
            self.timings_ms[step] = self.timings_ms.get(step, 0) + max(0, now_ms - started)

    def set_outcome(self, outcome: str, reason: str | None = None) -> None:
        """Decide the outcome once; later calls are ignored, so a transaction has exactly one."""
        if self.outcome is None:
            self.outcome = outcome
            self.outcome_reason = reason

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())
