"""Moving outbox rows to the broker: QoS 1, in seq order, a bounded window, cleared only by PUBACK.

``OutboxSender`` owns one thread. It publishes pending rows while the link is connected, at most
``window`` awaiting their PUBACK, and marks a row delivered only when the PUBACK for *that row's*
message id arrives. paho calls ``on_publish`` on its network thread while holding its own
message lock, so the PUBACK's mid is only queued there (:meth:`acknowledged`); the SQLite write
happens here, where a slow disk cannot stall the network thread or deadlock with a publisher.

After a reconnect paho re-sends the rows already handed to it (still in flight), so the sender
only continues after the highest seq it handed over. After a restart that memory is gone and the
outbox still holds every unacknowledged row, so sending starts again from the oldest.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

from paho.mqtt.enums import MQTTErrorCode

from edge.link.errors import LinkError
from edge.link.outbox import Outbox

log = logging.getLogger(__name__)

_SAFETY_WAKE_S = 5.0  # re-check this often even without a wake-up (belt and braces)
# NO_CONN still queues the message inside paho, which sends it after reconnecting.
_HANDED_OVER = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)


class PublishResult(Protocol):
    rc: int
    mid: int


Publish = Callable[[bytes], PublishResult]


class OutboxSender:
    """Publishes one gate's outbox rows through *publish* while *is_connected* says so.

    :param outbox: where the rows wait.
    :param publish: sends one sealed envelope at QoS 1 on the events topic; returns paho's
        ``MQTTMessageInfo`` (``rc``, ``mid``).
    :param is_connected: whether publishing makes sense now.
    :param window: rows awaiting PUBACK at once (paho's in-flight limit should match).
    :param count: counter hook (``published``, ``delivered``).
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        publish: Publish,
        is_connected: Callable[[], bool],
        window: int = 20,
        count: Callable[[str, int], None] = lambda name, n: None,
    ) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self._outbox = outbox
        self._publish = publish
        self._is_connected = is_connected
        self.window = window
        self._count = count
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, int] = {}  # mid -> seq; sender thread only
        self._sent_up_to = 0  # highest seq handed to paho; sender thread only
        self._rewind_to: queue.SimpleQueue[int] = queue.SimpleQueue()  # requests from other threads
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self, name: str = "outbox-sender") -> None:
        if self._thread is None:
            self._wake.set()  # a first look at once: rows may be waiting from a previous run
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Something changed (a new row, a connection): look again now."""
        self._wake.set()

    def rewind(self, from_seq: int) -> None:
        """Rows from *from_seq* on were requeued in the outbox: send them again (any thread)."""
        self._rewind_to.put(from_seq)
        self._wake.set()

    def acknowledged(self, mid: int) -> None:
        """A PUBACK arrived for *mid*; safe to call from paho's network thread (never blocks)."""
        self._acks.put(mid)
        self._wake.set()

    def wait_for_drained(self, timeout_s: float) -> bool:
        """Wait until every row has its PUBACK; False on timeout."""
        with self._progress:
            return self._progress.wait_for(lambda: self._outbox.depth == 0, timeout=timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.error("outbox sender of %s did not stop", self._outbox.sender)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(_SAFETY_WAKE_S)
            self._wake.clear()  # before the work, so a wake-up during the work is not lost
            try:
                self._record_acks()
                if self._is_connected():
                    self._fill_window()
            except LinkError:
                log.exception("gate_id=%s: outbox send step failed; retrying", self._outbox.sender)
        try:
            self._record_acks()
        except LinkError:
            log.exception("gate_id=%s: last PUBACKs not recorded; those rows will be resent", self._outbox.sender)

    def _record_acks(self) -> None:
        seqs: list[int] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            seq = self._inflight.pop(mid, None)
            if seq is not None:  # None: a state or heartbeat publish, not an outbox row
                seqs.append(seq)
        if not seqs:
            return
        delivered = self._outbox.mark_delivered_many(seqs)
        log.debug("events delivered gate_id=%s seqs=%d..%d", self._outbox.sender, min(seqs), max(seqs))
        if delivered:
            self._count("delivered", delivered)
            with self._progress:
                self._progress.notify_all()

    def _apply_rewinds(self) -> None:
        while True:
            try:
                from_seq = self._rewind_to.get_nowait()
            except queue.Empty:
                return
            self._sent_up_to = min(self._sent_up_to, from_seq - 1)

    def _fill_window(self) -> None:
        self._apply_rewinds()
        room = self.window - len(self._inflight)
        if room <= 0:
            return
        for row in self._outbox.pending(room, after_seq=self._sent_up_to):
            info = self._publish(row.envelope)
            if info.rc not in _HANDED_OVER:
                # Not handed to paho: leave it pending and try again on the next wake-up.
                log.warning(
                    "gate_id=%s seq=%d: publish refused by client: rc=%s", self._outbox.sender, row.seq, info.rc
                )
                break
            self._inflight[info.mid] = row.seq
            self._sent_up_to = row.seq
            self._count("published", 1)
