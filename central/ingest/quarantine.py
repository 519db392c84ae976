"""Poison messages: a delivery the worker failed on for a reason no retry can fix.

The worker already refuses what the protocol can name (malformed, forged, expired: logged,
counted, acknowledged). This is the net under it: any other error from handling one delivery
(a bug, or an input nobody foresaw) would otherwise leave the message unacknowledged, and after
the broker's in-flight window (20 in Mosquitto) of such messages central would receive nothing
more, even after a restart, because the broker redelivers them first (issue 18).

So the message is kept as a :class:`~central.models.DeadLetter` row (its first bytes, its size
and digest: enough to find and replay it, bounded so a huge body cannot fill the database),
counted as ``poison`` (in ``/healthz``'s ingest counters), logged once, and only then
acknowledged. If the database cannot take the row, the error propagates and the worker's
outage path retries: nothing is acknowledged before it is recorded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from central.ingest.metrics import IngestMetrics
from central.models import DeadLetter

log = logging.getLogger(__name__)

# Enough of the body to recognise it; the digest identifies the rest.
KEPT_PAYLOAD_BYTES = 4096


class Quarantine:
    """Records poison deliveries so the worker can acknowledge them.

    :param sessions: the worker's session factory.
    :param metrics: the ingest counters; ``poison`` and ``dead_letters`` are incremented.
    """

    def __init__(self, sessions: Callable[[], Session], metrics: IngestMetrics) -> None:
        self._sessions = sessions
        self._metrics = metrics

    def take(self, topic: str, payload: bytes, exc: BaseException) -> None:
        """Keep *payload* as a dead letter; raises only if the database cannot record it."""
        digest = hashlib.sha256(payload).hexdigest()
        kept = payload[:KEPT_PAYLOAD_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        error = f"{type(exc).__name__}: {str(exc)[:500]} [{len(payload)} bytes, sha256 {digest}]"
        log.error(
            "ingest: poison message on %s (%s, %d bytes, sha256 %s); kept as a dead letter and acknowledged",
            topic[:200], type(exc).__name__, len(payload), digest[:16], exc_info=exc,
        )
        with self._sessions() as session:
            session.add(DeadLetter(topic=topic[:200], payload=kept, error=error))
            session.commit()
        self._metrics.inc("poison")
        self._metrics.inc("dead_letters")
