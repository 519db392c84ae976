"""What the gate runtime needs from its link to central, and nothing about MQTT.

The gate machine and its runtime never import paho (STYLE.md §3.6): they publish protocol
payloads and receive verified commands through this interface. ``MqttLink`` implements it over
the broker with the durable outbox; :class:`MemoryLink` records everything for tests and for
running a gate with no central at all.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from protocol.messages import (
    CctvAlarm,
    Command,
    CommandAck,
    CrossingRecord,
    FaceEvidence,
    GateEvent,
    GateState,
    WatchlistAck,
    WatchlistVersionNotice,
)

DurablePayload = GateEvent | CrossingRecord | CommandAck | WatchlistAck | FaceEvidence | CctvAlarm
CommandHandler = Callable[[Command], CommandAck]
NoticeHandler = Callable[[WatchlistVersionNotice], None]


class GateLink(ABC):
    """Publishes a gate's events and state; delivers central's verified commands."""

    @abstractmethod
    def publish_event(self, payload: DurablePayload) -> None:
        """Queue *payload* durably (outbox). Returns once it is on disk, never waits for the network."""

    @abstractmethod
    def publish_state(self, state: GateState) -> None:
        """Publish the current state, retained; a newer state replaces an unsent older one."""

    @abstractmethod
    def on_command(self, handler: CommandHandler) -> None:
        """Call *handler* with each command whose signature, target gate, expiry and id check out."""

    def on_watchlist_notice(self, handler: NoticeHandler) -> None:  # optional capability
        """Call *handler* when central announces a new watchlist version."""

    @abstractmethod
    def close(self) -> None:
        """Stop; what is queued stays in the outbox for the next start."""


class MemoryLink(GateLink):
    """An in-memory link: records what the gate publishes, lets a test deliver commands."""

    def __init__(self) -> None:
        self.events: list[DurablePayload] = []
        self.states: list[GateState] = []
        self._command_handler: CommandHandler | None = None
        self._notice_handler: NoticeHandler | None = None
        self._lock = threading.Lock()
        self.closed = False

    def publish_event(self, payload: DurablePayload) -> None:
        with self._lock:
            self.events.append(payload)

    def publish_state(self, state: GateState) -> None:
        with self._lock:
            self.states.append(state)

    def on_command(self, handler: CommandHandler) -> None:
        self._command_handler = handler

    def on_watchlist_notice(self, handler: NoticeHandler) -> None:
        self._notice_handler = handler

    def deliver_command(self, command: Command) -> CommandAck:
        if self._command_handler is None:
            raise RuntimeError("no command handler registered")
        ack = self._command_handler(command)
        self.publish_event(ack)
        return ack

    def deliver_notice(self, notice: WatchlistVersionNotice) -> None:
        if self._notice_handler is not None:
            self._notice_handler(notice)

    def close(self) -> None:
        self.closed = True
