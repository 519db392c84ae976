"""Counts for the demo, dashboards and ``autogate central stats``; the daily recap and per-gate
statistics of the reports (pure helpers first, then the queries that feed them)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from central.models import ENDED_EVENT_SQL, Alert, Crossing, Gate, GateMessage, SequenceGap, as_utc
from central.timefmt import WIB


def stats(session: Session) -> dict[str, Any]:
    rows = session.execute(select(Crossing.gate_id, func.count()).group_by(Crossing.gate_id)).all()
    per_gate = {str(gate): int(n) for gate, n in rows}
    return {
        "gates": session.scalar(select(func.count()).select_from(Gate)) or 0,
        "gates_online": session.scalar(select(func.count()).select_from(Gate).where(Gate.online.is_(True))) or 0,
        "crossings": session.scalar(select(func.count()).select_from(Crossing)) or 0,
        "alerts": session.scalar(select(func.count()).select_from(Alert)) or 0,
        "alerts_unacknowledged": session.scalar(
            select(func.count()).select_from(Alert).where(Alert.acknowledged_at.is_(None))
        )
        or 0,
        "sequence_gaps_open": session.scalar(
            select(func.count()).select_from(SequenceGap).where(SequenceGap.closed_at.is_(None))
        )
        or 0,
        "crossings_per_gate": {gate: int(n) for gate, n in sorted(per_gate.items())},
    }


# ---- reports: daily recap and per-gate statistics -------------------------------------------

# Soekarno-Hatta works in WIB (UTC+7, no daylight saving): a report "day" is a WIB day (WIB is
# declared once, in central/timefmt.py).

# SOP standards per step of ``CrossingRecord.timings_ms`` (sop/autogate.md §5 and §11); steps
# missing here (fingerprint, face, total) are "kondisional": measured, never flagged.
SOP_STANDARDS_MS: dict[str, int] = {
    "document_scan": 5000,
    "entry_door_open": 1000,
    "entry_door_close": 1000,
    "entry_door_reopen": 1000,
    "entry_door_reclose": 1000,
    "exit_door_open": 1000,
}
CROSSED = "crossed"  # the gate's outcome for a crossing (edge/gate/machine.py)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timing_summary(timings: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per step: count, median and p95 in ms, the SOP standard and how often it was exceeded."""
    per_step: dict[str, list[int]] = defaultdict(list)
    for record in timings:
        for step, ms in record.items():
            if isinstance(ms, int | float) and not isinstance(ms, bool):
                per_step[str(step)].append(int(ms))
    summary: dict[str, dict[str, Any]] = {}
    for step in sorted(per_step):
        values = per_step[step]
        standard = SOP_STANDARDS_MS.get(step)
        over = sum(1 for v in values if standard is not None and v > standard)
        summary[step] = {
            "count": len(values),
            "median_ms": percentile(values, 0.5),
            "p95_ms": percentile(values, 0.95),
            "standard_ms": standard,
            "over_standard": over if standard is not None else None,
            "over_standard_rate": round(over / len(values), 4) if standard is not None else None,
        }
    return summary


def outcome_rates(outcomes: Iterable[str]) -> dict[str, Any]:
    """Transactions by outcome; every outcome but ``crossed`` is a rejection, by that reason."""
    counts = Counter(outcomes)
    total = sum(counts.values())
    rejections = {reason: n for reason, n in sorted(counts.items()) if reason != CROSSED}
    return {
        "transactions": total,
        "crossed": counts.get(CROSSED, 0),
        "rejected": sum(rejections.values()),
        "rejection_rate": round(sum(rejections.values()) / total, 4) if total else None,
        "rejections_by_reason": {reason: {"count": n, "rate": round(n / total, 4)} for reason, n in rejections.items()},
    }


def hourly_throughput(completed: Iterable[datetime]) -> dict[str, Any]:
    """Crossings per WIB clock hour; the mean is over hours that saw at least one crossing."""
    # Bucketed by whole WIB hours as integers, formatted once per bucket: strftime per crossing
    # was a third of the statistics' time.
    offset_s = WIB.utcoffset(None).total_seconds()
    hour_counts = Counter(int((as_utc(at).timestamp() + offset_s) // 3600) for at in completed if at is not None)
    buckets = {datetime.fromtimestamp(h * 3600, UTC).strftime("%Y-%m-%dT%H:00"): n for h, n in hour_counts.items()}
    hours = [{"hour": hour, "crossings": n} for hour, n in sorted(buckets.items())]
    return {
        "per_hour": hours,
        "peak_per_hour": max(buckets.values()) if buckets else 0,
        "mean_per_active_hour": round(sum(buckets.values()) / len(buckets), 2) if buckets else 0,
    }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, WIB)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def ended_query(dialect: str, start: datetime, end: datetime) -> Select[Any]:
    """(gate, outcome, reason) of the ``transaction_ended`` events sent in [start, end).

    One event in a dozen per traveller: the filter is the partial index's own predicate
    (``ENDED_EVENT_SQL``), so the database reads those rows only, and only the fields the report
    needs leave it (reading and decoding every event's payload took seconds for a week)."""
    outcome = GateMessage.payload[("details", "outcome")].as_string()
    reason = GateMessage.payload[("reason",)].as_string()
    query = select(GateMessage.gate_id, outcome, reason).where(GateMessage.sent_at >= start, GateMessage.sent_at < end)
    ended = ENDED_EVENT_SQL.get(dialect)
    if ended is not None:
        return query.where(text(ended))
    # Another engine: the portable spelling, without the index.
    return query.where(GateMessage.kind == "gate_event",
                       GateMessage.payload[("event",)].as_string() == "transaction_ended")


def _ended_transactions(session: Session, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """(gate, outcome) of every ``transaction_ended`` event the gates sent in [start, end)."""
    query = ended_query(session.get_bind().dialect.name, start, end)
    return [(str(gate_id), str(out or why or "unknown")) for gate_id, out, why in session.execute(query)]


def travellers_held(session: Session, start: datetime, end: datetime) -> int:
    """Travellers held in [start, end): distinct gate transactions with a hold alert (an alert
    without a transaction counts on its own)."""
    rows = session.execute(
        select(Alert.id, Alert.gate_id, Alert.details).where(
            Alert.kind == "watchlist_hold", Alert.created_at >= start, Alert.created_at < end
        )
    ).all()
    held = {(gate, (details or {}).get("transaction_id") or f"alert-{alert_id}") for alert_id, gate, details in rows}
    return len(held)


def daily_recap(session: Session, day: date) -> dict[str, Any]:
    """One WIB day: crossings by direction and by gate, refusals by reason, watchlist holds."""
    start, end = day_bounds(day)
    rows = session.execute(
        select(Crossing.gate_id, Crossing.direction, func.count())
        .where(Crossing.completed_at >= start, Crossing.completed_at < end)
        .group_by(Crossing.gate_id, Crossing.direction)
    ).all()
    by_direction: Counter[str] = Counter()
    by_gate: dict[str, Counter[str]] = defaultdict(Counter)
    for gate_id, direction, n in rows:
        by_direction[str(direction)] += int(n)
        by_gate[str(gate_id)][str(direction)] += int(n)
    outcomes = Counter(outcome for _gate, outcome in _ended_transactions(session, start, end) if outcome != CROSSED)
    holds = travellers_held(session, start, end)
    return {
        "day": day.isoformat(),
        "timezone": "WIB (UTC+7)",
        "crossings": sum(by_direction.values()),
        "crossings_by_direction": dict(sorted(by_direction.items())),
        "crossings_by_gate": {gate: dict(sorted(c.items())) for gate, c in sorted(by_gate.items())},
        "refusals": sum(outcomes.values()),
        "refusals_by_reason": dict(sorted(outcomes.items())),
        "watchlist_holds": holds or 0,
    }


def gate_statistics(session: Session, date_from: date, date_to: date) -> dict[str, Any]:
    """Per gate over WIB days [date_from, date_to]: throughput per hour, rejection rates by
    reason (from the gates' ``transaction_ended`` events) and step timings against the SOP."""
    start, _ = day_bounds(date_from)
    _, end = day_bounds(date_to)
    crossings = session.execute(
        select(Crossing.gate_id, Crossing.completed_at, Crossing.timings_ms).where(
            Crossing.completed_at >= start, Crossing.completed_at < end
        )
    ).all()
    completed: dict[str, list[datetime]] = defaultdict(list)
    timings: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for gate_id, at, step_ms in crossings:
        completed[str(gate_id)].append(at)
        timings[str(gate_id)].append(step_ms or {})
    outcomes: dict[str, list[str]] = defaultdict(list)
    for gate_id, outcome in _ended_transactions(session, start, end):
        outcomes[gate_id].append(outcome)
    gate_ids = sorted(set(completed) | set(outcomes) | {str(g) for g in session.scalars(select(Gate.id))})
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "timezone": "WIB (UTC+7)",
        "sop_standards_ms": SOP_STANDARDS_MS,
        "gates": {
            gate_id: {
                "crossings": len(completed.get(gate_id, [])),
                "throughput": hourly_throughput(completed.get(gate_id, [])),
                "outcomes": outcome_rates(outcomes.get(gate_id, [])),
                "timings": timing_summary(timings.get(gate_id, [])),
            }
            for gate_id in gate_ids
        },
    }
