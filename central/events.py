"""Change notices from ingest to live consoles: an in-process publish/subscribe bus.

The ingest worker publishes a :class:`Notice` *after* it commits, so a console that reacts by
reading the database always finds the change. A notice carries ids only (no personal data);
the subscriber reads what it may show.

:class:`LocalBus` reaches subscribers in the same process only, which is what
``autogate central serve`` on SQLite runs (web and ingest together). Between processes (web
workers apart from ingest), :mod:`central.buses` implements the same :class:`EventBus` protocol
over PostgreSQL LISTEN/NOTIFY or an MQTT topic; the settings choose (``bus.kind``).
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from dataclasses import dataclass
from typing import Protocol, Self

log = logging.getLogger(__name__)

# A console that stops reading must not make ingest block or grow memory without bound.
SUBSCRIBER_QUEUE_SIZE = 256


@dataclass(frozen=True)
class Notice:
    """Something was committed for ``gate_id``: ``channel`` is events/state/health, and
    ``message_id`` names the ledger row for durable messages (alerts point back to it)."""

    gate_id: str
    channel: str
    message_id: str | None = None
    outcome: str = ""


class Subscription:
    """One listener's queue; iterate with :meth:`get`, and always :meth:`close` it."""

    def __init__(self, bus: LocalBus) -> None:
        self._bus = bus
        self._queue: queue.Queue[Notice | None] = queue.Queue(SUBSCRIBER_QUEUE_SIZE)
        self._closed = threading.Event()
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def offer(self, notice: Notice) -> None:
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            # The console redraws from the database on its next poll, so a lost notice only delays it.
            self.dropped += 1

    def get(self, timeout_s: float) -> Notice | None:
        """The next notice, or None after *timeout_s* or once the subscription is closed."""
        if self.closed:
            return None
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Leave the bus; a reader blocked in :meth:`get` returns at once."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._bus.unsubscribe(self)
        try:
            self._queue.put_nowait(None)  # wakes a get() waiting on the queue
        except queue.Full:
            pass  # a full queue wakes it anyway

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EventBus(Protocol):
    def publish(self, notice: Notice) -> None: ...

    def subscribe(self) -> Subscription: ...

    def close_subscriptions(self) -> None: ...


class LocalBus:
    """Fan-out to every subscriber of this process; publish never blocks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Weak: a stream response dropped before it was ever read must not stay subscribed.
        self._subscribers: weakref.WeakSet[Subscription] = weakref.WeakSet()

    def publish(self, notice: Notice) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.offer(notice)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        with self._lock:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def close_subscriptions(self) -> None:
        """Close every open subscription, so the event streams reading them finish their
        responses. A server shutting down calls this first: a stream still waiting for its
        next heartbeat would otherwise write into a server already closed."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.close()

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)


_DEFAULT = LocalBus()


def default_bus() -> LocalBus:
    """The process's bus: what the worker publishes to and the app listens on unless told otherwise."""
    return _DEFAULT
