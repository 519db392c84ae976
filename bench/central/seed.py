"""A hall's worth of history for the web benches: gates, crossings, every gate event a crossing
produces, refusals and hold alarms, written straight into central's tables (bulk inserts; what
ingest would have stored). Deterministic for a seed, so before/after figures read the same rows.

A traveller at a gate makes a dozen events (sop/autogate.md §5): ``EVENTS_PER_TRAVELLER`` rows in
``gate_messages``, one of them ``transaction_ended``; 97 % cross (a ``crossings`` row), the rest
are refused with a reason, and 0.5 % raise a watchlist hold (an ``alerts`` row).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from central.db import Database
from central.models import Alert, Crossing, Gate, GateMessage

EVENTS = ("session_started", "document_read", "document_checked", "watchlist_checked", "entry_door_opened",
          "entry_door_closed", "fingerprint_captured", "fingerprint_verified", "face_captured", "face_verified",
          "exit_door_opened", "transaction_ended")
EVENTS_PER_TRAVELLER = len(EVENTS)
REFUSALS = ("document_expired", "face_mismatch", "fingerprint_mismatch", "watchlist_hold")
TIMINGS = {"document_scan": 1800, "entry_door_open": 700, "entry_door_close": 800, "fingerprint": 2500,
           "face": 1900, "exit_door_open": 600, "total": 9500}


def seed(database: Database, *, gates: int, days: int, travellers_per_gate_day: int, last_day: date,
         rng_seed: int = 7, batch: int = 5000) -> dict[str, int]:
    """Write the history; returns the row counts."""
    rng = random.Random(rng_seed)
    gate_ids = [f"bench-gate-{n:02d}" for n in range(gates)]
    counts = {"gates": gates, "crossings": 0, "gate_messages": 0, "alerts": 0}
    with database.session() as session:
        session.execute(insert(Gate), [
            {"id": g, "name": g, "direction": "departure" if n % 2 else "arrival", "public_key": "A" * 43 + "=",
             "last_seq": 0, "online": True, "state_sent_ms": 0, "health_sent_ms": 0,
             "state": {"state": "idle", "commands": []}, "health": {}}
            for n, g in enumerate(gate_ids)])
        session.commit()
        messages: list[dict] = []
        crossings: list[dict] = []
        alerts: list[dict] = []

        def flush(force: bool = False) -> None:
            for table, rows in ((GateMessage, messages), (Crossing, crossings), (Alert, alerts)):
                if rows and (force or len(rows) >= batch):
                    session.execute(insert(table), rows)
                    counts[table.__tablename__] += len(rows)
                    rows.clear()
            session.commit()

        seq = dict.fromkeys(gate_ids, 0)
        for d in range(days):
            day = last_day - timedelta(days=days - 1 - d)
            day_start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=7)  # a WIB day
            for gate_id in gate_ids:
                for t in range(travellers_per_gate_day):
                    started = day_start + timedelta(seconds=rng.uniform(0, 86_000))
                    transaction = f"tx-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
                    refusal = rng.choice(REFUSALS) if rng.random() < 0.03 else None
                    outcome = refusal or "crossed"
                    for k, event in enumerate(EVENTS):
                        seq[gate_id] += 1
                        details = {"outcome": outcome} if event == "transaction_ended" else {}
                        messages.append({
                            "message_id": uuid.UUID(int=rng.getrandbits(128)).hex, "gate_id": gate_id,
                            "seq": seq[gate_id], "kind": "gate_event", "sent_at": started + timedelta(seconds=k),
                            "received_at": started + timedelta(seconds=k, milliseconds=40),
                            "payload": {"kind": "gate_event", "event": event, "transaction_id": transaction,
                                        "details": details},
                        })
                    completed = started + timedelta(seconds=EVENTS_PER_TRAVELLER)
                    if outcome == "crossed":
                        crossings.append({
                            "message_id": uuid.UUID(int=rng.getrandbits(128)).hex, "transaction_id": transaction,
                            "gate_id": gate_id, "direction": "departure", "document_number": f"B{rng.randrange(10**7):07d}",
                            "document_type": "P", "issuing_state": "IDN", "expiry_date": date(2031, 1, 1),
                            "given_names": "SITI", "surname": rng.choice(("RAHAYU", "SANTOSO", "WIJAYA", "LIM")),
                            "sex": "F", "birth_date": date(1990, 5, 17), "nationality": "IDN",
                            "fingerprint_match": True, "fingerprint_score": 0.9, "face_match": True,
                            "face_score": 0.8, "biometrics": {},
                            "timings_ms": {k: int(v * rng.uniform(0.6, 1.5)) for k, v in TIMINGS.items()},
                            "started_at": started, "completed_at": completed, "received_at": completed,
                        })
                    if refusal == "watchlist_hold":
                        alerts.append({
                            "gate_id": gate_id, "kind": "watchlist_hold", "severity": "critical",
                            "message": "watchlist hold", "details": {"transaction_id": transaction},
                            "requires_ack": True, "created_at": completed,
                            "acknowledged_at": completed + timedelta(minutes=3), "acknowledged_by": "spv",
                        })
                    flush()
        flush(force=True)
    return counts
