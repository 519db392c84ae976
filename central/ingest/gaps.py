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
from central.models import Gate, SequenceGap, as_utc
from central.services import audit
from central.services.commands import Publisher, issue_command
from protocol.keys import KeyPair

log = logging.getLogger(__name__)

SYSTEM_ACTOR = audit.Actor("system:gap-resolver", "system", None)
MAX_RANGE = 500  # one command asks for at most this many events; the rest comes next round


@dataclass(frozen=True)
class ResendRequest:
    gate_id: str
    from_seq: int
    to_seq: int
    reason: str


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

    ``gaps``: (gate, from_seq, to_seq, detected_at_s) of open gaps. ``gates``: (gate, stored
    last_seq, heartbeat last_seq or None, online). A range is asked for once it is older than
    ``grace_s`` (late messages may still be in flight) and then every ``repeat_s`` until closed.
    """
    online = {gate for gate, _, _, is_online in gates if is_online}
    wanted: list[ResendRequest] = []
    for gate, first, last, detected_s in gaps:
        if gate in online and now_s - detected_s >= grace_s:
            wanted.append(ResendRequest(gate, first, min(last, first + MAX_RANGE - 1), "sequence gap"))
    for gate, stored, reported, is_online in gates:
        if is_online and reported is not None and reported > stored:
            wanted.append(ResendRequest(gate, stored + 1, min(reported, stored + MAX_RANGE), "missing tail"))
    due = []
    for request in wanted:
        key = (request.gate_id, request.from_seq)
        if now_s - last_asked.get(key, float("-inf")) >= repeat_s:
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
            gaps = [
                (g.gate_id, g.from_seq, g.to_seq, as_utc(g.detected_at).timestamp())
                for g in session.scalars(select(SequenceGap).where(SequenceGap.closed_at.is_(None)))
            ]
            gates = []
            for gate in session.scalars(select(Gate)):
                reported = (gate.health or {}).get("last_seq")
                gates.append((gate.id, gate.last_seq, self._settled_tail(gate.id, reported, now_s), bool(gate.online)))
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
        self._last_asked[(request.gate_id, request.from_seq)] = now_s
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
