"""Closing sequence gaps: central asks the gate to resend what never arrived.

A gate's outbox keeps delivered rows for a retention period, and every event carries a per-gate
sequence number, so central can tell what it is missing and ask for exactly that range with a
signed ``resend_events`` command. The gate republishes the stored bytes (same message ids), and
ingest's idempotent store closes the gap. This recovers from any loss between the gate's PUBACK
and central's commit: a broker that drops unacknowledged messages (amqtt gives up on an
unacknowledged delivery after 5 s), a broker restart without persistence, a lost queue.

Two kinds of gap are found: holes below the high-water mark (``SequenceGap`` rows that ingest
records), and a missing tail, seen when a heartbeat reports a ``last_seq`` beyond what central
stored. The decision is pure (:func:`resend_requests`); :class:`GapResolver` runs it on a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db import Database
from central.errors import CentralError
from central.models import Gate, GateMessage, SequenceGap, as_utc
from central.services import audit
from central.services.commands import Publisher, issue_command
from protocol.keys import KeyPair

log = logging.getLogger(__name__)

SYSTEM_ACTOR = audit.Actor("system:gap-resolver", "system", None)
# One command asks for at most MAX_RANGE events, and at most MAX_WINDOWS_IN_FLIGHT windows of
# one gate are asked for and not yet received at a time: a gap of thousands is asked for as the
# earlier windows arrive, never all at once (Mosquitto queues at most 1,000 messages for a
# subscriber by default and drops the rest, which would only make new gaps).
MAX_RANGE = 500
MAX_WINDOWS_IN_FLIGHT = 2


@dataclass(frozen=True)
class ResendRequest:
    gate_id: str
    from_seq: int
    to_seq: int
    reason: str

    @property
    def window(self) -> tuple[str, int]:
        """The fixed window of MAX_RANGE sequence numbers this request lies in: the key its
        repeats are spaced by. Fixed, so a window keeps its key while its events trickle in."""
        return (self.gate_id, window_start(self.from_seq))


def window_start(seq: int) -> int:
    return (seq - 1) // MAX_RANGE * MAX_RANGE + 1


def windows(gate_id: str, first: int, last: int, reason: str) -> list[ResendRequest]:
    """*first*..*last* cut at the fixed window boundaries (1..500, 501..1000, ...)."""
    pieces = []
    start = first
    while start <= last:
        end = min(last, window_start(start) + MAX_RANGE - 1)
        pieces.append(ResendRequest(gate_id, start, end, reason))
        start = end + 1
    return pieces


def missing_runs(first: int, last: int, present: list[int]) -> list[tuple[int, int]]:
    """The runs of *first*..*last* not in *present* (sorted seqs already stored)."""
    runs = []
    start = first
    for seq in present:
        if seq < start or seq > last:
            continue
        if seq > start:
            runs.append((start, seq - 1))
        start = seq + 1
    if start <= last:
        runs.append((start, last))
    return runs


def resend_requests(
    gaps: list[tuple[str, int, int, float]],
    gates: list[tuple[str, int, int | None, bool]],
    *,
    now_s: float,
    grace_s: float,
    last_asked: dict[tuple[str, int], float],
    repeat_s: float,
) -> list[ResendRequest]:
    """Which ranges to ask for now.

    ``gaps``: (gate, from_seq, to_seq, detected_at_s) of what is still missing (one entry per
    missing run of an open gap). ``gates``: (gate, stored last_seq, heartbeat last_seq or None,
    online). A range is asked for once it is older than ``grace_s`` (late messages may still be
    in flight), cut into windows of at most MAX_RANGE, and each window is asked for again every
    ``repeat_s`` until it arrives; ``last_asked`` is keyed by :attr:`ResendRequest.window`. A
    window asked for less than ``repeat_s`` ago and still missing is in flight; a gate has at
    most MAX_WINDOWS_IN_FLIGHT, lowest first, and the next are asked for as those arrive.
    """
    online = {gate for gate, _, _, is_online in gates if is_online}
    wanted: list[ResendRequest] = []
    for gate, first, last, detected_s in sorted(gaps, key=lambda g: (g[0], g[1])):
        if gate in online and now_s - detected_s >= grace_s:
            wanted += windows(gate, first, last, "sequence gap")
    for gate, stored, reported, is_online in gates:
        if is_online and reported is not None and reported > stored:
            wanted += windows(gate, stored + 1, reported, "missing tail")
    # Several runs of one window (events trickling in) make one request spanning them.
    merged: dict[tuple[str, int], ResendRequest] = {}
    for request in wanted:
        seen = merged.get(request.window)
        if seen is not None:
            request = ResendRequest(request.gate_id, min(seen.from_seq, request.from_seq),
                                    max(seen.to_seq, request.to_seq), seen.reason)
        merged[request.window] = request
    in_flight: dict[str, int] = {}
    for gate, start in merged:
        if now_s - last_asked.get((gate, start), float("-inf")) < repeat_s:
            in_flight[gate] = in_flight.get(gate, 0) + 1
    due: list[ResendRequest] = []
    for key in sorted(merged):
        request = merged[key]
        if now_s - last_asked.get(key, float("-inf")) < repeat_s:
            continue
        if in_flight.get(request.gate_id, 0) >= MAX_WINDOWS_IN_FLIGHT:
            continue
        in_flight[request.gate_id] = in_flight.get(request.gate_id, 0) + 1
        due.append(request)
    return due


class GapResolver:
    """Every ``interval_s``, asks gates to resend what central is missing."""

    def __init__(
        self,
        database: Database,
        *,
        key: KeyPair,
        publisher: Publisher,
        interval_s: float = 5.0,
        grace_s: float = 10.0,
        repeat_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self._key = key
        self._publisher = publisher
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._repeat_s = repeat_s
        self._clock = clock
        self._last_asked: dict[tuple[str, int], float] = {}
        self._tail_seen: dict[str, tuple[int, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "GapResolver":
        self._thread = threading.Thread(target=self._run, name="gap-resolver", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.check_once()
            except Exception:  # a failed round is retried next round; the thread must not die
                log.exception("gap resolver: round failed")

    def check_once(self) -> list[ResendRequest]:
        now_s = self._clock()
        with self._database.session() as session:
            # Only what is still missing: a gap stays open, whole, until its last event arrives,
            # and asking for its first window again and again never reached the rest (issue 18).
            gaps = []
            for gap in session.scalars(select(SequenceGap).where(SequenceGap.closed_at.is_(None))):
                present = list(session.scalars(
                    select(GateMessage.seq)
                    .where(GateMessage.gate_id == gap.gate_id, GateMessage.seq.between(gap.from_seq, gap.to_seq))
                    .order_by(GateMessage.seq)
                ))
                detected_s = as_utc(gap.detected_at).timestamp()
                gaps += [(gap.gate_id, first, last, detected_s) for first, last in missing_runs(gap.from_seq, gap.to_seq, present)]
            gates = []
            for gate in session.scalars(select(Gate)):
                reported = (gate.health or {}).get("last_seq")
                gates.append((gate.id, gate.last_seq, self._settled_tail(gate.id, reported, now_s), bool(gate.online)))
            # Forget windows asked for longer ago than repeat_s: they are due again anyway.
            self._last_asked = {k: t for k, t in self._last_asked.items() if now_s - t < self._repeat_s}
            requests = resend_requests(
                gaps, gates, now_s=now_s, grace_s=self._grace_s, last_asked=self._last_asked, repeat_s=self._repeat_s
            )
            for request in requests:
                self._ask(session, request, now_s)
        return requests

    def _settled_tail(self, gate_id: str, reported: int | None, now_s: float) -> int | None:
        """A heartbeat's last_seq counts only once it has stayed ahead for the grace period:
        the events it counts are usually still on their way."""
        if not isinstance(reported, int):
            return None
        seen = self._tail_seen.get(gate_id)
        if seen is None or seen[0] != reported:
            self._tail_seen[gate_id] = (reported, now_s)
            return None
        return reported if now_s - seen[1] >= self._grace_s else None

    def _ask(self, session: Session, request: ResendRequest, now_s: float) -> None:
        self._last_asked[request.window] = now_s
        try:
            issue_command(
                session,
                key=self._key,
                publisher=self._publisher,
                gate_id=request.gate_id,
                action="resend_events",
                reason=f"{request.reason}: events {request.from_seq}..{request.to_seq} not received",
                actor=SYSTEM_ACTOR,
                now_ms=int(now_s * 1000),
                from_seq=request.from_seq,
                to_seq=request.to_seq,
            )
            log.warning(
                "gate %s: asked to resend events %d..%d (%s)", request.gate_id, request.from_seq, request.to_seq, request.reason
            )
        except CentralError as exc:
            session.rollback()
            log.error("gate %s: resend request failed: %s", request.gate_id, exc)
