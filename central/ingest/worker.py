"""The ingest worker thread: verify, store a batch in one transaction, commit, and only then acknowledge.

The MQTT callback only enqueues a :class:`Delivery`; this thread takes whatever has queued up
(one message when idle, up to ``batch_max`` under load), verifies each message, stores the gate
messages of the batch in one transaction and commits, then acknowledges every delivery of the
batch in arrival order (MQTT wants QoS 1 acks in order). Bad payloads (malformed, forged, unknown
sender, expired) can never become valid, so they are logged with the gate id and reason, counted
and acknowledged with their batch; any other error on one delivery makes it poison, kept as a
dead letter and acknowledged (:mod:`central.ingest.quarantine`), so no message can stall the
broker's in-flight window. A database outage is different: the batch is retried with back-off and nothing is
acknowledged, so the broker keeps it; on stop, whatever is unacknowledged is redelivered later.

Several workers (processes, each with its own client id, on one MQTT shared subscription) may
run against one database: the ledger's unique message id and ``INSERT ... ON CONFLICT DO
NOTHING`` store a message once whichever worker gets it, and gates are locked in id order so
batches that share gates queue instead of deadlocking (docs/central.md, "Ingest at scale").
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.cctv.ingest import CctvIngest
from central.db import Database
from central.errors import StoreUnavailable
from central.events import EventBus, Notice, default_bus
from central.ingest.keyring import GateKeyring
from central.ingest.metrics import IngestMetrics
from central.ingest.quarantine import Quarantine
from central.ingest.store import (
    Outcome,
    apply_message,
    check_channel,
    claim_messages,
    fill_all_gaps,
    is_durable,
    ledger_row,
    record_security_alert,
)
from central.models import DeadLetter, Gate, from_ms
from central.settings import CctvSettings
from protocol.envelope import Envelope, open_envelope
from protocol.errors import ForgedMessage, ProtocolError
from protocol.topics import GateTopic, parse_gate_topic

log = logging.getLogger(__name__)

_STOP = object()

# Most messages one transaction stores. Large enough that a commit's cost is spread thin, small
# enough that a batch commits within tens of milliseconds (the broker waits for those acks).
DEFAULT_BATCH_MAX = 200


@dataclass(frozen=True)
class Delivery:
    """One message off the wire; ``token`` is whatever the transport needs to acknowledge it."""

    topic: str
    payload: bytes
    token: object = None


@dataclass(frozen=True)
class Verified:
    """A gate message whose signature, sender, age and channel passed: ready to store."""

    delivery: Delivery
    topic: GateTopic
    envelope: Envelope
    received_at: datetime


def _segments(deliveries: Sequence[Delivery], is_camera: Callable[[str], bool]) -> list[list[Delivery]]:
    """Arrival order cut into runs of gate messages (one transaction each) and single camera
    messages (stored by their own module, one transaction each)."""
    segments: list[list[Delivery]] = []
    for delivery in deliveries:
        if is_camera(delivery.topic):
            segments.append([delivery])
        elif segments and not is_camera(segments[-1][0].topic):
            segments[-1].append(delivery)
        else:
            segments.append([delivery])
    return segments


def is_unreachable(exc: BaseException) -> bool:
    """Errors that mean "the database is not there right now", as opposed to a bad statement."""
    if isinstance(exc, (OperationalError, InterfaceError, StoreUnavailable)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class IngestWorker:
    """Processes deliveries in batches on its own thread.

    Whatever has arrived while the previous batch was being stored is the next batch (up to
    ``batch_max``): gate messages in it are verified one by one, then stored in ONE transaction,
    committed, and only then acknowledged, each delivery once and in arrival order. An idle
    worker therefore stores a lone message at once, and a busy one pays one commit for many.
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
        batch_max: int = DEFAULT_BATCH_MAX,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be at least 1, not {batch_max}")
        self._ack = ack
        self.metrics = metrics or IngestMetrics()
        self._max_age_ms = int(max_age_s * 1000)
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._clock = clock
        self._sessions = sessions or database.session
        self._batch_max = batch_max
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
        """Stop after the current batch; idempotent. Queued messages stay unacknowledged."""
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
            batch, stop_after = self._drain(item)
            self._busy_since = self._monotonic()
            try:
                self.process_batch(batch)
            except Exception:
                log.exception("ingest: unexpected error on a batch of %d; left unacknowledged", len(batch))
                self.metrics.inc("worker_errors")
            finally:
                self._busy_since = None
            if stop_after:
                break

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

    def _drain(self, first: object) -> tuple[list[Delivery], bool]:
        """*first* and whatever else is already queued (never waiting for more), up to batch_max."""
        assert isinstance(first, Delivery)
        batch = [first]
        while len(batch) < self._batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, Delivery)
            batch.append(item)
        return batch, False

    # -- a batch ---------------------------------------------------------------------------
    def process(self, delivery: Delivery) -> bool:
        """Store one delivery and ack it; False if stopped before it could be stored."""
        return self.process_batch([delivery])

    def process_batch(self, deliveries: Sequence[Delivery]) -> bool:
        """Store *deliveries* and ack each, in arrival order; False if stopped before all of them
        were stored (those not stored stay unacknowledged; the broker redelivers them)."""
        self.metrics.inc("received", len(deliveries))
        for segment in _segments(deliveries, self.cctv.handles):
            if not self._store_with_retry(segment):
                return False
            for delivery in segment:
                self._ack(delivery)
            self.metrics.inc("acked", len(segment))
        self.metrics.inc("batches")
        return True

    def _store_with_retry(self, segment: list[Delivery]) -> bool:
        """Store one segment, retrying while the database is unreachable; publish its notices."""
        delay = self._retry_initial_s
        while True:
            try:
                notices = self._store_segment(segment)
                break
            except (SQLAlchemyError, StoreUnavailable) as exc:
                if not is_unreachable(exc):
                    raise
                self._note_outage(segment, exc, delay)
            if self._stopping.wait(delay):
                log.warning("ingest: stopping with %d message(s) unstored (first %s); the broker will redeliver them",
                            len(segment), segment[0].topic)
                return False
            delay = min(delay * 2, self._retry_max_s)
        # After the commit, so a console that reads the database on a notice finds the change.
        for notice in notices:
            self._bus.publish(notice)
        return True

    def _note_outage(self, segment: list[Delivery], exc: BaseException, delay: float) -> None:
        self.metrics.inc("db_retries")
        log.warning(
            "ingest: database unreachable (%s) storing %d message(s) (first %s); retrying in %.2f s, nothing acknowledged",
            type(exc).__name__,
            len(segment),
            segment[0].topic,
            delay,
        )

    def _store_segment(self, segment: list[Delivery]) -> list[Notice]:
        if self.cctv.handles(segment[0].topic):  # camera messages come one to a segment
            delivery = segment[0]
            try:
                self.cctv.handle(delivery.topic, delivery.payload)
            except Exception as exc:
                self._refuse(delivery, exc)
            return []
        verified = [v for v in (self._verify_or_refuse(delivery) for delivery in segment) if v is not None]
        if not verified:
            return []
        if len(verified) == 1:
            return self._store_alone(verified[0])
        try:
            return self._store_verified(verified)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if isinstance(exc, SQLAlchemyError) and is_unreachable(exc):
                raise
            # One message spoils the transaction: store each alone, so only that one is refused.
            log.warning("ingest: a batch of %d failed (%s); storing its messages one at a time",
                        len(verified), type(exc).__name__)
            self.metrics.inc("batch_splits")
            notices: list[Notice] = []
            for message in verified:
                notices += self._store_alone(message)
            return notices

    def _store_alone(self, message: Verified) -> list[Notice]:
        """One verified message in its own transaction; a permanent failure is its alone."""
        try:
            return self._store_verified([message])
        except ProtocolError as exc:
            self._reject(message.topic.gate_id, exc.reason, str(exc))
            return []
        except IntegrityError:
            # Another worker committed the same message id first: already stored.
            self.metrics.inc(Outcome.DUPLICATE.value)
            return []
        except Exception as exc:
            self._refuse(message.delivery, exc)
            return []

    def _refuse(self, delivery: Delivery, exc: Exception) -> None:
        """A delivery that failed for a reason no retry can fix: a database error on it is kept
        as a dead letter, anything else as poison (central/ingest/quarantine.py); both are then
        acknowledged. An unreachable database is re-raised: the caller retries, acking nothing."""
        if isinstance(exc, StoreUnavailable) or (isinstance(exc, SQLAlchemyError) and is_unreachable(exc)):
            raise exc
        if isinstance(exc, SQLAlchemyError):
            self._dead_letter(delivery, exc)
        else:
            self.quarantine.take(delivery.topic, delivery.payload, exc)

    def _verify_or_refuse(self, delivery: Delivery) -> Verified | None:
        try:
            return self._verify(delivery)
        except Exception as exc:
            self._refuse(delivery, exc)
            return None

    def _store_verified(self, messages: list[Verified]) -> list[Notice]:
        """Apply *messages* in one transaction and commit; the notices to publish."""
        stored: list[tuple[Verified, Outcome]] = []
        with self._sessions() as session:
            # Lock the batch's gates, always in id order: two workers whose batches share gates
            # queue for them instead of deadlocking, and one transaction at a time judges a
            # gate's sequence. (SQLite has one writer anyway and ignores FOR UPDATE.)
            gate_ids = sorted({m.topic.gate_id for m in messages})
            gates = {
                gate.id: gate
                for gate in session.scalars(
                    select(Gate).where(Gate.id.in_(gate_ids)).order_by(Gate.id).with_for_update()
                )
            }
            known = [m for m in messages if m.topic.gate_id in gates]
            # Every durable message's ledger row in one statement: the ids this batch claims
            # are the ones it stores; the rest another transaction (or worker) stored first.
            claimed = claim_messages(session, [ledger_row(m.topic.gate_id, m.envelope, m.received_at)
                                               for m in known if is_durable(m.envelope)])
            seen: set[str] = set()
            late: dict[str, list[tuple[int, str]]] = {gate_id: [] for gate_id in gates}
            # A gate's events in sequence order (stable: state and health keep arrival order),
            # so a batch never opens a gap that its own next message closes.
            for message in sorted(messages, key=lambda m: (m.topic.gate_id, m.topic.channel, m.envelope.seq)):
                gate = gates.get(message.topic.gate_id)
                if gate is None:  # removed since its key was cached
                    self.keyring.forget(message.topic.gate_id)
                    self._reject(message.topic.gate_id, "unknown_sender", "gate no longer registered")
                    continue
                message_id = message.envelope.message_id
                is_new = message_id in claimed and message_id not in seen
                seen.add(message_id)
                outcome = apply_message(session, gate, message.topic.channel, message.envelope, message.received_at,
                                        claimed=is_new, late=late[gate.id])
                stored.append((message, outcome))
            # Gaps that late arrivals complete: once for the batch, not a look-up per message.
            fill_all_gaps(session, gates, late, max(m.received_at for m in messages))
            session.commit()
        notices = []
        for message, outcome in stored:
            self.metrics.inc(outcome.value)
            envelope = message.envelope
            log.debug("gate %s: %s %s seq %d -> %s", message.topic.gate_id, envelope.payload.kind,
                      envelope.message_id, envelope.seq, outcome.value)
            if outcome is not Outcome.DUPLICATE and outcome is not Outcome.STATE_STALE:
                notices.append(Notice(message.topic.gate_id, message.topic.channel, envelope.message_id, outcome.value))
        return notices

    # -- one message: decode and judge ----------------------------------------------------------
    def _verify(self, delivery: Delivery) -> Verified | None:
        """The one place a gate delivery is decoded and judged: the verified message, or None
        when it was refused (logged, counted; acknowledged with its batch, since it can never
        become valid)."""
        try:
            topic = parse_gate_topic(delivery.topic)
        except ValueError:
            self._reject(None, "bad_topic", f"not a gate topic: {delivery.topic[:200]!r}")
            return None
        if topic.channel == "commands":
            self._reject(topic.gate_id, "bad_topic", "commands are not ingested")
            return None
        now_s = self._clock()
        try:
            envelope = self._open(delivery, topic, now_s)
            check_channel(topic.gate_id, topic.channel, envelope)
        except ProtocolError as exc:
            self._reject_protocol(topic, exc, now_s)
            return None
        return Verified(delivery, topic, envelope, from_ms(int(now_s * 1000)))

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
