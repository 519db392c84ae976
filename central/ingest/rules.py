"""Pure ingest rules: which gate events raise which alerts, and how a sequence number is judged.

No session, no clock: the store calls these and writes what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocol.messages import GateEvent


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, kw_only=True)
class AlertRule:
    """One row of the alert table: an event matches when any of its names or states appears."""

    kind: str
    severity: Severity
    text: str
    events: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()

    def matches(self, event: GateEvent) -> bool:
        return (
            event.event in self.events
            or (event.state_to is not None and event.state_to in self.states)
            or (event.reason is not None and event.reason in self.reasons)
        )


# Event names follow the gate machine's states (sop/autogate.md §7); the table is the contract.
ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        kind="watchlist_hold",
        severity=Severity.CRITICAL,
        text="Cekal identik: traveller held inside the gate (SOP tpi-08 B3); report and secure",
        events=frozenset({"watchlist_hold", "held"}),
        states=frozenset({"held"}),
        reasons=frozenset({"watchlist_hit", "cekal_identik"}),
    ),
    AlertRule(
        # tpi-08 holds a traveller *suspected* of a cekal match: the gate lets a similar (mirip) hit
        # continue, so the supervisor must see the candidate while the traveller is still in the hall.
        kind="watchlist_similar",
        severity=Severity.HIGH,
        text="Similar watchlist hit (cekal mirip): the traveller continues; compare with the listed person (SOP tpi-08)",
        events=frozenset({"watchlist_similar"}),
    ),
    AlertRule(
        kind="biometric_mismatch",
        severity=Severity.HIGH,
        text="Biometric mismatch: grant a retry or send the traveller to a counter (SOP B4/B5)",
        events=frozenset({"awaiting_supervisor", "biometric_mismatch"}),
        states=frozenset({"awaiting_supervisor"}),
    ),
    AlertRule(
        kind="emergency",
        severity=Severity.CRITICAL,
        text="Emergency: all doors released",
        events=frozenset({"emergency"}),
        states=frozenset({"emergency"}),
    ),
    AlertRule(
        kind="tailgating",
        severity=Severity.HIGH,
        text="Tailgating: more than one person in the gate, transaction stopped",
        events=frozenset({"tailgating"}),
        reasons=frozenset({"tailgating"}),
    ),
    AlertRule(
        kind="fault",
        severity=Severity.HIGH,
        text="Gate fault",
        events=frozenset({"fault"}),
        states=frozenset({"fault"}),
    ),
)


def alerts_for_event(event: GateEvent) -> list[AlertRule]:
    """The rules an event triggers; one event may raise several (a fault during a hold)."""
    return [rule for rule in ALERT_RULES if rule.matches(event)]


class SeqVerdict(StrEnum):
    NEXT = "next"  # seq == last + 1
    GAP = "gap"  # seq > last + 1: last+1 .. seq-1 are missing
    LATE = "late"  # seq <= last: a late arrival (fills a gap) or a gate that restarted its count
    UNSEQUENCED = "unsequenced"  # seq 0: an ephemeral message, outside the ledger


@dataclass(frozen=True)
class SeqJudgement:
    verdict: SeqVerdict
    missing_from: int = 0
    missing_to: int = 0


def judge_seq(last_seq: int, seq: int) -> SeqJudgement:
    if seq == 0:
        return SeqJudgement(SeqVerdict.UNSEQUENCED)
    if seq == last_seq + 1:
        return SeqJudgement(SeqVerdict.NEXT)
    if seq > last_seq + 1:
        return SeqJudgement(SeqVerdict.GAP, last_seq + 1, seq - 1)
    return SeqJudgement(SeqVerdict.LATE)
