"""The ingest worker thread: verify, store in one transaction, commit, and only then acknowledge.

The MQTT callback only enqueues a :class:`Delivery`; this thread does the work in arrival order
(MQTT wants QoS 1 acks in order). Bad payloads (malformed, forged, unknown sender, expired) can
never become valid, so they are logged with the gate id and reason, counted and acknowledged; any
other error on one delivery makes it poison, kept as a dead letter and acknowledged
(:mod:`central.ingest.quarantine`), so no message can stall the broker's in-flight window.
A database outage is different: the same message is retried with back-off and nothing is
acknowledged, so the broker keeps it; on stop, whatever is unacknowledged is redelivered later.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from central.cctv.ingest import CctvIngest
from central.db import Database
from central.errors import StoreUnavailable
from central.events import EventBus, Notice, default_bus
from central.ingest.keyring import GateKeyring
from central.ingest.metrics import IngestMetrics
from central.ingest.quarantine import Quarantine
from central.ingest.store import Outcome, apply_message, record_security_alert
from central.models import DeadLetter, Gate, from_ms
from central.settings import CctvSettings
from protocol.envelope import Envelope, open_envelope
from protocol.errors import ForgedMessage, ProtocolError
from protocol.topics import GateTopic, parse_gate_topic

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True)
class Delivery:
    """One message off the wire; ``token`` is whatever the transport needs to acknowledge it."""

    topic: str
    payload: bytes
    token: object = None


def is_unreachable(exc: BaseException) -> bool:
    """Errors that mean "the database is not there right now", as opposed to a bad statement."""
    if isinstance(exc, (OperationalError, InterfaceError, StoreUnavailable)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class IngestWorker:
    """Processes deliveries one at a time on its own thread.

    ``ack`` is called exactly once per delivery, after its effects are committed (or after it was
    judged permanently bad), never for a delivery still unstored when the worker stops.
    ``sessions`` is the session factory (a seam for outage tests); ``clock`` returns epoch seconds.
    """

    def __init__(
        self,
        database: Database,
        *,
        ack: Callable[[Delivery], None],
        metrics: IngestMetrics | None = None,
        max_age_s: float = 14 * 24 * 3600,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        sessions: Callable[[], Session] | None = None,
        bus: EventBus | None = None,
        cctv_settings: CctvSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ack = ack
        self.metrics = metrics or IngestMetrics()
        self._max_age_ms = int(max_age_s * 1000)
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._clock = clock
        self._sessions = sessions or database.session
        # Live consoles hear of each committed message here (central/events.py).
        self._bus = bus or default_bus()
        self.keyring = GateKeyring(self._sessions)
        # Camera alarms and heartbeats (SOP it-05) are stored by their own module.
        self.cctv = CctvIngest(self._sessions, clock=clock, metrics=self.metrics, bus=self._bus,
                               max_age_ms=self._max_age_ms, settings=cctv_settings or CctvSettings(),
                               reject=self._reject)
        self.quarantine = Quarantine(self._sessions, self.metrics)
        self._monotonic = monotonic
        self._busy_since: float | None = None  # when the delivery in hand was taken (health)
        self._queue: queue.Queue[object] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="central-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the current message; idempotent. Queued messages stay unacknowledged."""
        self._stopping.set()
        self._queue.put(_STOP)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.error("ingest worker did not stop within %.1f s", timeout_s)

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, delivery: Delivery) -> None:
        """Called on the network thread: hand off and return at once."""
        self._queue.put(delivery)

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is _STOP:
                break
            assert isinstance(item, Delivery)
            self._busy_since = self._monotonic()
            try:
                self.process(item)
            except Exception:
                log.exception("ingest: unexpected error on %s; message left unacknowledged", item.topic)
                self.metrics.inc("worker_errors")
            finally:
                self._busy_since = None

    def health(self, stuck_after_s: float) -> str:
        """``ok``, ``stopped`` (the thread is dead or was never started) or ``stuck`` (one
        delivery has been in hand for more than *stuck_after_s*: a hung driver call, or a
        database outage that the worker is still riding out)."""
        if not self.is_running:
            return "stopped"
        busy_since = self._busy_since
        if busy_since is not None and self._monotonic() - busy_since > stuck_after_s:
            return "stuck"
        return "ok"

    # -- one message -----------------------------------------------------------------------
    def process(self, delivery: Delivery) -> bool:
        """Store one delivery and ack it; False if stopped before it could be stored."""
        self.metrics.inc("received")
        delay = self._retry_initial_s
        while True:
            try:
                try:
                    self._handle(delivery)
                except SQLAlchemyError as exc:
                    if is_unreachable(exc):
                        raise
                    self._dead_letter(delivery, exc)
                except StoreUnavailable:
                    raise
                except Exception as exc:  # poison: no retry can fix it (central/ingest/quarantine.py)
                    self.quarantine.take(delivery.topic, delivery.payload, exc)
                break
            except (SQLAlchemyError, StoreUnavailable) as exc:
                if not is_unreachable(exc):
                    raise
                self._note_outage(delivery, exc, delay)
            if self._stopping.wait(delay):
                log.warning("ingest: stopping with %s unstored; the broker will redeliver it", delivery.topic)
                return False
            delay = min(delay * 2, self._retry_max_s)
        self._ack(delivery)
        self.metrics.inc("acked")
        return True

    def _note_outage(self, delivery: Delivery, exc: BaseException, delay: float) -> None:
        self.metrics.inc("db_retries")
        log.warning(
            "ingest: database unreachable (%s) storing %s; retrying in %.2f s, nothing acknowledged",
            type(exc).__name__,
            delivery.topic,
            delay,
        )

    def _handle(self, delivery: Delivery) -> None:
        if self.cctv.handles(delivery.topic):
            self.cctv.handle(delivery.topic, delivery.payload)
            return
        try:
            topic = parse_gate_topic(delivery.topic)
        except ValueError:
            self._reject(None, "bad_topic", f"not a gate topic: {delivery.topic[:200]!r}")
            return
        if topic.channel == "commands":
            self._reject(topic.gate_id, "bad_topic", "commands are not ingested")
            return
        now_s = self._clock()
        try:
            envelope = self._open(delivery, topic, now_s)
        except ProtocolError as exc:
            self._reject_protocol(topic, exc, now_s)
            return
        received_at = from_ms(int(now_s * 1000))
        with self._sessions() as session:
            gate = session.get(Gate, topic.gate_id)
            if gate is None:  # removed since its key was cached
                self.keyring.forget(topic.gate_id)
                self._reject(topic.gate_id, "unknown_sender", "gate no longer registered")
                return
            try:
                outcome = apply_message(session, gate, topic.channel, envelope, received_at)
            except ProtocolError as exc:
                session.rollback()
                self._reject(topic.gate_id, exc.reason, str(exc))
                return
            try:
                session.commit()
            except IntegrityError:
                # Another worker committed the same message id first: already stored.
                session.rollback()
                outcome = Outcome.DUPLICATE
        self.metrics.inc(outcome.value)
        if outcome is not Outcome.DUPLICATE and outcome is not Outcome.STATE_STALE:
            self._bus.publish(Notice(topic.gate_id, topic.channel, envelope.message_id, outcome.value))
        log.debug("gate %s: %s %s seq %d -> %s", topic.gate_id, envelope.payload.kind, envelope.message_id, envelope.seq, outcome.value)

    def _open(self, delivery: Delivery, topic: GateTopic, now_s: float) -> Envelope:
        def attempt() -> Envelope:
            return open_envelope(
                delivery.payload,
                keys=self.keyring.lookup,
                now_ms=int(now_s * 1000),
                max_age_ms=self._max_age_ms,
                expected_sender=topic.gate_id,
            )

        try:
            return attempt()
        except ForgedMessage:
            # The gate's key may have been rotated (``add-gate`` again) since we cached it:
            # re-read it once before calling the message forged.
            self.keyring.forget(topic.gate_id)
            return attempt()

    def _reject_protocol(self, topic: GateTopic, exc: ProtocolError, now_s: float) -> None:
        self._reject(topic.gate_id, exc.reason, str(exc))
        if isinstance(exc, ForgedMessage) and self.keyring.lookup(topic.gate_id) is not None:
            with self._sessions() as session:
                record_security_alert(session, topic.gate_id, exc.reason, str(exc)[:300], from_ms(int(now_s * 1000)))
                session.commit()

    def _reject(self, gate_id: str | None, reason: str, text: str) -> None:
        self.metrics.inc("rejected")
        self.metrics.inc(f"rejected_{reason}")
        log.warning("ingest: rejected message on gate %s: %s: %s", gate_id or "?", reason, text[:300])

    def _dead_letter(self, delivery: Delivery, exc: SQLAlchemyError) -> None:
        log.error("ingest: cannot store %s (%s); kept as a dead letter", delivery.topic, type(exc).__name__)
        with self._sessions() as session:
            session.add(
                DeadLetter(
                    topic=delivery.topic[:200],
                    payload=delivery.payload.decode("utf-8", errors="replace"),
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
            session.commit()
        self.metrics.inc("dead_letters")
