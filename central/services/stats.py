"""Counts for the demo, dashboards and ``autogate central stats``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central.models import Alert, Crossing, Gate, SequenceGap


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
