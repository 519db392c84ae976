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


# The gate's alarm names (``alarm_raised`` reason, ``alarm_acknowledged`` details, GateState.alarm;
# edge/gate/machine.py) and the console alert each one is.
GATE_ALARM_KINDS: dict[str, str] = {
    "cekal_identik": "watchlist_hold",
    "emergency": "emergency",
    "emergency_held_released": "emergency",
    "tailgating": "tailgating",
    "fault": "fault",
    "internal_error": "fault",
    "interlock": "fault",
}


@dataclass(frozen=True, kw_only=True)
class AlertRule:
    """One row of the alert table: the events that raise this kind of alert.

    ``triggers`` pairs an event name with the reasons it must carry (None: any reason). Each
    real-world event is reported by exactly one gate event that matches: a hold is the gate's
    ``alarm_raised`` (reason ``cekal_identik``), not the state change into ``held`` nor the
    referral after the release, so one hold raises one alert.
    """

    kind: str
    severity: Severity
    text: str
    triggers: tuple[tuple[str, frozenset[str] | None], ...]
    requires_ack: bool = True

    def matches(self, event: GateEvent) -> bool:
        return any(
            event.event == name and (reasons is None or event.reason in reasons) for name, reasons in self.triggers
        )


def _alarms_of(kind: str) -> tuple[str, frozenset[str]]:
    return ("alarm_raised", frozenset(alarm for alarm, k in GATE_ALARM_KINDS.items() if k == kind))


# Event names are the gate machine's (edge/gate/machine.py); the table is the contract.
ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        kind="watchlist_hold",
        severity=Severity.CRITICAL,
        text="Cekal identik: traveller held inside the gate (SOP tpi-08 B3); report and secure",
        triggers=(_alarms_of("watchlist_hold"),),
    ),
    AlertRule(
        kind="biometric_mismatch",
        severity=Severity.HIGH,
        text="Biometric mismatch: grant a retry or send the traveller to a counter (SOP B4/B5)",
        triggers=(("supervisor_notified", None),),
    ),
    AlertRule(
        kind="emergency",
        severity=Severity.CRITICAL,
        text="Emergency: all doors released",
        triggers=(_alarms_of("emergency"),),
    ),
    AlertRule(
        kind="tailgating",
        severity=Severity.HIGH,
        text="Tailgating: more than one person in the gate, transaction stopped",
        # also reported (without stopping anything) while a traveller is held or leaving
        triggers=(_alarms_of("tailgating"), ("tailgating", None)),
    ),
    AlertRule(
        kind="fault",
        severity=Severity.HIGH,
        text="Gate fault",
        triggers=(_alarms_of("fault"), ("fault", None)),
    ),
    AlertRule(
        kind="traveller_lingering",
        severity=Severity.WARNING,
        text="A traveller has not left the gate: check the lane, then confirm it is clear",
        triggers=(("traveler_lingering", None),),
    ),
    AlertRule(
        # tpi-08 holds a traveller *suspected* of a cekal match: the gate lets a similar (mirip) hit
        # continue, so the supervisor must see the candidate while the traveller is still in the hall.
        kind="watchlist_similar",
        severity=Severity.HIGH,
        text="Similar watchlist hit (cekal mirip): the traveller continues; compare with the listed person (SOP tpi-08)",
        triggers=(("watchlist_similar", None),),
    ),
)


def alerts_for_event(event: GateEvent) -> list[AlertRule]:
    """The rules an event triggers: at most one per kind."""
    return [rule for rule in ALERT_RULES if rule.matches(event)]


@dataclass(frozen=True)
class Resolution:
    """Open alerts an event answers: of these kinds, for the event's transaction (or the whole
    gate when ``gate_wide``). The alert is then acknowledged in the answerer's name."""

    kinds: frozenset[str]
    gate_wide: bool = False


# An answered alarm clears itself: the supervisor's retry or referral answers a mismatch, the
# release answers a hold, a reset answers an emergency or fault. A transaction that ended has
# answered its mismatch and lingering notices whatever ended it (the gate's own timeout included).
# A hold and a similar (mirip) hit are never answered by the gate: an officer must look at the
# candidate, and a traveller who walked on is still in the hall (tpi-08).
RESOLUTIONS: dict[str, Resolution] = {
    "retry_granted": Resolution(frozenset({"biometric_mismatch"})),
    "sent_to_counter": Resolution(frozenset({"biometric_mismatch"})),
    "held_released": Resolution(frozenset({"watchlist_hold"})),
    "lane_cleared": Resolution(frozenset({"traveller_lingering"})),
    "transaction_ended": Resolution(frozenset({"biometric_mismatch", "traveller_lingering"})),
    "gate_reset": Resolution(frozenset({"emergency", "fault"}), gate_wide=True),
}


def resolution_for_event(event: GateEvent) -> Resolution | None:
    """What *event* answers, or None. ``alarm_acknowledged`` answers the alarm it names."""
    if event.event == "alarm_acknowledged":
        kind = GATE_ALARM_KINDS.get(str(event.details.get("alarm") or ""))
        return Resolution(frozenset({kind}), gate_wide=True) if kind else None
    return RESOLUTIONS.get(event.event)


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
