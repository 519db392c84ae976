"""The gate side of the CCTV person flags: verify central's retained ``PersonFlags`` and keep them.

``PersonFlagsSync.handle(topic, payload)`` takes the raw bytes on ``autogate/v1/cctv/flags``, opened
with central's public key (sender "central"); a forged or garbled message is logged, counted and
dropped, and an older publication never replaces a newer one. ``escalate`` is what screening calls
(``edge.gate.recognition.ScreenerWatchlist``): the pure rule is ``edge.watchlist.flags.escalate``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from edge.watchlist.flags import Flag, FlagSet, escalate
from edge.watchlist.model import ScreeningResult
from protocol.cctv import PERSON_FLAGS, PersonFlags, open_cctv
from protocol.envelope import CENTRAL_SENDER
from protocol.errors import MalformedMessage, ProtocolError
from protocol.keys import PublicKey

log = logging.getLogger(__name__)

SUBSCRIPTIONS: tuple[str, ...] = (PERSON_FLAGS,)


class PersonFlagsSync:
    def __init__(self, central_key: PublicKey | None, *, clock_ms: Callable[[], int]) -> None:
        self._keys = {CENTRAL_SENDER: central_key} if central_key is not None else {}
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._flags = FlagSet()
        self.counts: Counter[str] = Counter()

    def handle(self, topic: str, payload: bytes) -> bool:
        if topic != PERSON_FLAGS or not payload:
            return False
        try:
            message = open_cctv(payload, keys=self._keys, now_ms=self._clock_ms(), expected_sender=CENTRAL_SENDER).payload
            if not isinstance(message, PersonFlags):
                raise MalformedMessage(f"a {message.kind} on the person flags topic")
        except (ProtocolError, ValueError) as exc:
            self.counts["rejected"] += 1
            log.warning("person flags refused (%s): %s", getattr(exc, "reason", type(exc).__name__), exc)
            return False
        with self._lock:
            if message.published_at_ms < self._flags.published_at_ms:
                self.counts["stale_ignored"] += 1
                return False
            self._flags = FlagSet(tuple(Flag(f.flag_id, f.entry_id, f.expires_at_ms) for f in message.flags),
                                  message.published_at_ms)
        self.counts["installed"] += 1
        log.info("person flags: %d in force (CCTV-confirmed people)", len(message.flags))
        return True

    def flagged(self) -> frozenset[str]:
        with self._lock:
            flags = self._flags
        return flags.flagged(self._clock_ms())

    def escalate(self, result: ScreeningResult) -> ScreeningResult:
        raised = escalate(result, self.flagged())
        if raised is not result:
            log.warning("screening: similar hit on %s raised to identical (flagged by a confirmed CCTV alarm)",
                        raised.candidates[0].entry_id)
        return raised
