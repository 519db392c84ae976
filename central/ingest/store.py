"""What one verified gate message does to the database, inside the caller's transaction.

The caller (the worker) commits, then acknowledges the MQTT message. Nothing here commits, so a
failure anywhere leaves the database as it was and the message unacknowledged.

Durable messages (the ``events`` channel: events, crossings, command and watchlist acks, face
evidence) go into
the ``gate_messages`` ledger once, keyed on ``message_id``, and move the gate's sequence: a jump
opens a :class:`SequenceGap` and an alert, a late arrival inside a gap closes it when the gap is
filled. State and health messages are not in the ledger; they update the gate row, latest
``sent_at`` wins, except the offline last will (see :func:`_apply_health`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from central.cases.service import open_cases_for_event
from central.services import alerts
from central.ingest.rules import SeqVerdict, Severity, judge_seq
from central.models import (
    Alert,
    CommandRecord,
    Crossing,
    FaceEvidenceRecord,
    Gate,
    GateMessage,
    SequenceGap,
    from_ms,
)
from protocol.envelope import Envelope
from protocol.errors import MalformedMessage
from protocol.messages import (
    CommandAck,
    CrossingRecord,
    FaceEvidence,
    GateEvent,
    GateState,
    Heartbeat,
    WatchlistAck,
)

log = logging.getLogger(__name__)

# How long the captured and enrolled face of a failed face step stay at central: long enough for
# the supervisor's decision and the counter's review the same day, not longer (minimisation).
FACE_EVIDENCE_RETENTION = timedelta(hours=24)

# Which payload kinds may arrive on which channel; anything else is malformed for that topic.
CHANNEL_KINDS: dict[str, frozenset[str]] = {
    "events": frozenset({"gate_event", "crossing", "command_ack", "watchlist_ack", "face_evidence"}),
    "state": frozenset({"gate_state"}),
    "health": frozenset({"heartbeat"}),
}


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    STATE_APPLIED = "state_applied"
    STATE_STALE = "state_stale"


def check_channel(gate_id: str, channel: str, envelope: Envelope) -> None:
    """MalformedMessage unless the payload's kind belongs on *channel* (judged before storing)."""
    kind = envelope.payload.kind
    if kind not in CHANNEL_KINDS.get(channel, frozenset()):
        raise MalformedMessage(f"gate {gate_id}: a {kind!r} message does not belong on {channel!r}")


def apply_message(
    session: Session, gate: Gate, channel: str, envelope: Envelope, received_at: datetime, *,
    claimed: bool | None = None,
    late: list[tuple[int, str]] | None = None,
) -> Outcome:
    """Record *envelope* (already verified as sent by *gate*) in *session*; never commits.

    ``claimed``: whether this transaction already inserted the message's ledger row
    (:func:`claim_messages`, done for a whole batch at once); None: claim it here. ``late``: where
    to collect (seq, message id) of arrivals behind the gate's high-water mark, for the caller to
    pass to :func:`fill_gaps` once per gate; None: fill gaps here."""
    check_channel(gate.id, channel, envelope)
    gate.last_seen_at = received_at
    payload = envelope.payload
    if isinstance(payload, GateState):
        return _apply_state(gate, envelope, payload)
    if isinstance(payload, Heartbeat):
        return _apply_health(session, gate, envelope, payload, received_at)
    if claimed is None:
        claimed = bool(claim_messages(session, [ledger_row(gate.id, envelope, received_at)]))
    if not claimed:
        return Outcome.DUPLICATE
    return _apply_durable(session, gate, envelope, received_at, late)


def is_durable(envelope: Envelope) -> bool:
    """Whether the message goes into the ledger (events), not onto the gate row (state, health)."""
    return not isinstance(envelope.payload, (GateState, Heartbeat))


def ledger_row(gate_id: str, envelope: Envelope, received_at: datetime) -> dict[str, object]:
    """The ``gate_messages`` row of a durable message."""
    return {
        "message_id": envelope.message_id,
        "gate_id": gate_id,
        "seq": envelope.seq,
        "kind": envelope.payload.kind,
        "sent_at": from_ms(envelope.sent_at_ms),
        "received_at": received_at,
        "payload": _ledger_payload(envelope.payload),
    }


def claim_messages(session: Session, rows: list[dict[str, object]]) -> set[str]:
    """Insert the ledger rows whose ``message_id`` is not there yet; the ids this transaction inserted.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` for the whole batch. Where another
    worker's transaction holds one of the ids uncommitted, PostgreSQL waits for it and then
    answers "not ours", so two workers racing on a redelivered message never both store it, and
    neither fails. A message twice in *rows* is claimed once."""
    unique: dict[object, dict[str, object]] = {}
    for row in rows:
        unique.setdefault(row["message_id"], row)
    if not unique:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # any other engine: look first; the unique constraint still guards a race
        ids = list(unique)
        present = set(session.scalars(select(GateMessage.message_id).where(GateMessage.message_id.in_(ids))))
        fresh = [row for key, row in unique.items() if key not in present]
        session.add_all(GateMessage(**row) for row in fresh)
        session.flush()
        return {str(row["message_id"]) for row in fresh}
    statement = (
        insert(GateMessage)
        .on_conflict_do_nothing(index_elements=[GateMessage.message_id])
        .returning(GateMessage.message_id)
    )
    # Core execution: the rows are not ORM objects, and an autoflush here would write the
    # batch's gate rows once per statement instead of once at commit. Executemany of one cached
    # statement: SQLAlchemy sends it as multi-row VALUES pages ("insertmanyvalues"), without
    # compiling a new statement for every batch size.
    return set(session.connection().execute(statement, list(unique.values())).scalars())


def claim_message(session: Session, **row: object) -> bool:
    """One ledger row: :func:`claim_messages` of one."""
    return bool(claim_messages(session, [row]))


def _apply_durable(
    session: Session, gate: Gate, envelope: Envelope, received_at: datetime, late: list[tuple[int, str]] | None
) -> Outcome:
    payload = envelope.payload
    _track_sequence(session, gate, envelope, received_at, late)
    if isinstance(payload, FaceEvidence):
        _store_face_evidence(session, gate, envelope.message_id, payload, received_at)
    elif isinstance(payload, CrossingRecord):
        session.add(_crossing_row(gate, envelope, payload, received_at))
    elif isinstance(payload, GateEvent):
        alerts.apply_gate_event(session, gate.id, payload, envelope.message_id, received_at)
        open_cases_for_event(session, gate, payload, envelope.message_id, received_at)  # SOP cases (central/cases)
    elif isinstance(payload, CommandAck):
        _apply_command_ack(session, gate, payload, received_at)
    elif isinstance(payload, WatchlistAck):
        gate.watchlist_version = payload.version
    return Outcome.STORED


def _ledger_payload(payload: object) -> dict[str, object]:
    """What the message ledger keeps: everything, except face images (kept apart, and expiring)."""
    assert isinstance(payload, BaseModel)
    if isinstance(payload, FaceEvidence):
        return payload.model_dump(mode="json", exclude={"captured_jpeg", "enrolled_jpeg"}) | {"images": "face_evidence"}
    return payload.model_dump(mode="json")


def _store_face_evidence(
    session: Session, gate: Gate, message_id: str, evidence: FaceEvidence, received_at: datetime
) -> None:
    purge_face_evidence(session, received_at)
    session.add(
        FaceEvidenceRecord(
            gate_id=gate.id,
            transaction_id=evidence.transaction_id,
            captured_jpeg=evidence.captured_jpeg,
            enrolled_jpeg=evidence.enrolled_jpeg,
            enrolled_source=evidence.enrolled_source,
            score=evidence.score,
            threshold=evidence.threshold,
            refused_reason=evidence.refused_reason,
            received_at=received_at,
            expires_at=received_at + FACE_EVIDENCE_RETENTION,
            source_message_id=message_id,
        )
    )
    log.info("gate %s: face evidence for transaction %s kept until %s", gate.id, evidence.transaction_id,
             (received_at + FACE_EVIDENCE_RETENTION).isoformat(timespec="minutes"))


def purge_face_evidence(session: Session, now: datetime) -> int:
    """Delete face evidence past its retention; returns how many rows went."""
    result = session.execute(delete(FaceEvidenceRecord).where(FaceEvidenceRecord.expires_at < now))
    return int(result.rowcount or 0)


def _track_sequence(
    session: Session, gate: Gate, envelope: Envelope, received_at: datetime, late: list[tuple[int, str]] | None
) -> None:
    judgement = judge_seq(gate.last_seq, envelope.seq)
    if judgement.verdict is SeqVerdict.NEXT:
        gate.last_seq = envelope.seq
    elif judgement.verdict is SeqVerdict.GAP:
        session.add(
            SequenceGap(
                gate_id=gate.id,
                from_seq=judgement.missing_from,
                to_seq=judgement.missing_to,
                detected_at=received_at,
            )
        )
        session.add(
            Alert(
                gate_id=gate.id,
                kind="sequence_gap",
                severity=Severity.WARNING.value,
                message=f"Messages {judgement.missing_from}..{judgement.missing_to} from gate {gate.id} are missing",
                details={"from_seq": judgement.missing_from, "to_seq": judgement.missing_to},
                requires_ack=False,
                created_at=received_at,
                source_message_id=envelope.message_id,
            )
        )
        log.warning(
            "gate %s: sequence gap %d..%d (event %s)",
            gate.id,
            judgement.missing_from,
            judgement.missing_to,
            envelope.message_id,
        )
        gate.last_seq = envelope.seq
    elif judgement.verdict is SeqVerdict.LATE:
        if late is None:
            fill_gaps(session, gate, [(envelope.seq, envelope.message_id)], received_at)
        else:
            late.append((envelope.seq, envelope.message_id))


def fill_gaps(session: Session, gate: Gate, late: list[tuple[int, str]], received_at: datetime) -> None:
    """:func:`fill_all_gaps` for one gate."""
    fill_all_gaps(session, {gate.id: gate}, {gate.id: late}, received_at)


def fill_all_gaps(
    session: Session, gates: dict[str, Gate], late: dict[str, list[tuple[int, str]]], received_at: datetime
) -> None:
    """Late arrivals ((seq, message id) per gate, already in the ledger): close the open gaps
    they complete and answer those gaps' alerts. For a whole batch at once: one look-up of the
    open gaps, a count only for a gap the batch did not fill entirely, one look-up of the alerts
    to answer. (Workers on a shared subscription make late arrivals the common case: 864 of 1,000
    messages with two workers, at three statements each before.)"""
    late = {gate_id: sorted(arrivals) for gate_id, arrivals in late.items() if arrivals}
    if not late:
        return
    session.flush()
    gaps = list(session.scalars(select(SequenceGap).where(
        SequenceGap.gate_id.in_(sorted(late)), SequenceGap.closed_at.is_(None))))
    closed: list[tuple[SequenceGap, str]] = []
    for gate_id, arrivals in late.items():
        mine = [gap for gap in gaps if gap.gate_id == gate_id]
        for seq, _ in arrivals:
            if not any(gap.from_seq <= seq <= gap.to_seq for gap in mine):
                # A new message id below the high-water mark and in no gap: the gate restarted
                # its count (lost outbox database). Kept, because a crossing must never be dropped.
                log.warning("gate %s: seq %d is behind %d and fills no gap; gate counter reset?",
                            gate_id, seq, gates[gate_id].last_seq)
        for gap in mine:
            fillers = {seq: message_id for seq, message_id in arrivals if gap.from_seq <= seq <= gap.to_seq}
            if not fillers:
                continue
            size = gap.to_seq - gap.from_seq + 1
            if len(fillers) < size:  # partly filled by this batch: count what earlier ones stored
                present = session.scalar(select(func.count(func.distinct(GateMessage.seq))).where(
                    GateMessage.gate_id == gate_id, GateMessage.seq >= gap.from_seq, GateMessage.seq <= gap.to_seq))
                if present != size:
                    continue
            gap.closed_at = received_at
            log.info("gate %s: sequence gap %d..%d filled", gate_id, gap.from_seq, gap.to_seq)
            closed.append((gap, fillers[max(fillers)]))
    if closed:
        _answer_gap_alerts(session, closed, received_at)


def _answer_gap_alerts(session: Session, closed: list[tuple[SequenceGap, str]], at: datetime) -> None:
    """Nothing is missing any more: each gap's alert is answered by the message that filled it.
    Several ingest workers on a shared subscription store a gate's messages slightly out of
    order, so most gaps they see fill within milliseconds; the console must not keep them."""
    by_range = {(gap.gate_id, gap.from_seq, gap.to_seq): message_id for gap, message_id in closed}
    open_alerts = session.scalars(select(Alert).where(
        Alert.gate_id.in_(sorted({gap.gate_id for gap, _ in closed})),
        Alert.kind == "sequence_gap", Alert.acknowledged_at.is_(None)))
    for alert in open_alerts:
        details = alert.details or {}
        message_id = by_range.get((alert.gate_id, details.get("from_seq"), details.get("to_seq")))
        if message_id is not None:
            alert.acknowledged_at = at
            alert.acknowledged_by = "ingest (gap filled)"
            alert.answered_by_message_id = message_id


def _crossing_row(gate: Gate, envelope: Envelope, record: CrossingRecord, received_at: datetime) -> Crossing:
    traveler = record.traveler
    fp, face = record.fingerprint, record.face
    return Crossing(
        message_id=envelope.message_id,
        transaction_id=record.transaction_id,
        gate_id=gate.id,
        direction=record.direction.value,
        document_number=traveler.document_number,
        document_type=traveler.document_type,
        issuing_state=traveler.issuing_state,
        expiry_date=traveler.expiry_date,
        given_names=traveler.given_names,
        surname=traveler.surname,
        sex=traveler.sex,
        birth_date=traveler.birth_date,
        nationality=traveler.nationality,
        fingerprint_match=fp.match if fp else None,
        fingerprint_score=fp.score if fp else None,
        face_match=face.match if face else None,
        face_score=face.score if face else None,
        biometrics={
            name: result.model_dump(mode="json") for name, result in (("fingerprint", fp), ("face", face)) if result
        },
        timings_ms=dict(record.timings_ms),
        watchlist_version=record.watchlist_version,
        started_at=from_ms(record.started_at_ms),
        completed_at=from_ms(record.completed_at_ms),
        received_at=received_at,
    )


def _apply_command_ack(session: Session, gate: Gate, ack: CommandAck, received_at: datetime) -> None:
    record = session.scalar(select(CommandRecord).where(CommandRecord.command_id == ack.command_id))
    if record is None or record.gate_id != gate.id:
        log.warning("gate %s: ack for unknown command %s", gate.id, ack.command_id)
        return
    record.status = "accepted" if ack.accepted else "refused"
    record.ack_at = received_at
    record.ack_reason = ack.reason or None
    record.state_after = ack.state_after


def _apply_state(gate: Gate, envelope: Envelope, state: GateState) -> Outcome:
    if envelope.sent_at_ms <= gate.state_sent_ms:
        return Outcome.STATE_STALE
    gate.state_sent_ms = envelope.sent_at_ms
    gate.state = state.model_dump(mode="json")
    return Outcome.STATE_APPLIED


def _apply_health(
    session: Session, gate: Gate, envelope: Envelope, beat: Heartbeat, received_at: datetime
) -> Outcome:
    """Heartbeats: latest ``sent_at`` wins. The offline last will is the exception: it is signed
    when the gate connects, so it is always older than the heartbeats it follows; the broker only
    sends it when the gate is gone, and a reconnecting gate overwrites it, so arrival order is the
    truth for it."""
    if beat.online:
        if envelope.sent_at_ms <= gate.health_sent_ms:
            return Outcome.STATE_STALE
        gate.health_sent_ms = envelope.sent_at_ms
    elif not gate.online and gate.health is not None and not gate.health.get("online", True):
        return Outcome.STATE_STALE  # already offline: a redelivered will raises nothing new
    gate.health = beat.model_dump(mode="json")
    if beat.watchlist_version is not None:
        gate.watchlist_version = beat.watchlist_version
    if gate.online != beat.online:
        gate.online = beat.online
        gate.online_changed_at = received_at
        if not beat.online:
            session.add(
                Alert(
                    gate_id=gate.id,
                    kind="gate_offline",
                    severity=Severity.HIGH.value,
                    message=f"Gate {gate.id} went offline",
                    requires_ack=True,
                    created_at=received_at,
                    source_message_id=envelope.message_id,
                )
            )
            log.warning("gate %s: offline (last will)", gate.id)
        else:
            log.info("gate %s: online", gate.id)
    return Outcome.STATE_APPLIED


def record_security_alert(session: Session, gate_id: str, reason: str, text: str, at: datetime) -> None:
    """A message on a known gate's topic failed verification: one open alert per gate and reason,
    counting repeats, so a flood of forgeries cannot flood the console."""
    open_alert = session.scalar(
        select(Alert).where(
            Alert.gate_id == gate_id,
            Alert.kind == "security",
            Alert.acknowledged_at.is_(None),
        )
    )
    if open_alert is not None:
        details = dict(open_alert.details or {})
        details["count"] = int(details.get("count", 1)) + 1
        details["last_reason"] = reason
        details["last_at"] = at.isoformat()
        open_alert.details = details
        return
    session.add(
        Alert(
            gate_id=gate_id,
            kind="security",
            severity=Severity.CRITICAL.value,
            message=f"Message on gate {gate_id}'s topic failed verification: {text}",
            details={"reason": reason, "count": 1},
            requires_ack=True,
            created_at=at,
        )
    )
