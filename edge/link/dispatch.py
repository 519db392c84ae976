"""Running what central sends, off paho's network thread.

Two worker threads, so a slow watchlist install never delays a supervisor's command:

* the command thread records each verified ``Command`` durably (a command that already ran,
  even before a restart, is dropped as a replay), runs the gate's command handler and queues
  its ``CommandAck`` in the outbox; a handler that raises is answered ``accepted=False`` with
  the error's type, never left unanswered. Verified watchlist notices go the same way;
* the message thread hands raw ``(topic, bytes)`` of registered filters to their handlers
  (watchlist snapshots and deltas, which their handler verifies itself).

Handlers are whatever the gate registers; an exception in one is logged and counted, and the
next message is handled as usual.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import paho.mqtt.client as paho

from edge.link.base import CommandHandler, NoticeHandler
from edge.link.errors import LinkError
from protocol.messages import Command, CommandAck, CommandAction, WatchlistVersionNotice

log = logging.getLogger(__name__)

RawHandler = Callable[[str, bytes], None]
Count = Callable[[str, int], None]


def topic_matches(topic_filter: str, topic: str) -> bool:
    return topic_filter == topic or paho.topic_matches_sub(topic_filter, topic)


class Dispatcher:
    """Queues verified input from the network thread and runs its handlers on worker threads.

    :param gate_id: for log lines.
    :param publish_ack: queues a ``CommandAck`` durably (``MqttLink.publish_event``).
    :param count: counter hook (``commands_executed``, ``commands_refused_by_gate``, ...).
    :param first_time: records a command durably before it runs; False means it already ran
        (in this process or an earlier one), so it is dropped as a replay.
    """

    def __init__(
        self,
        gate_id: str,
        *,
        publish_ack: Callable[[CommandAck], None],
        count: Count,
        first_time: Callable[[Command], bool] = lambda command: True,
    ) -> None:
        self.gate_id = gate_id
        self._publish_ack = publish_ack
        self._count = count
        self._first_time = first_time
        self.command_handler: CommandHandler | None = None
        # Link-level commands (resend_events) are the link's own business, not the gate machine's.
        self.resend_handler: CommandHandler | None = None
        self.notice_handler: NoticeHandler | None = None
        self._raw_handlers: list[tuple[tuple[str, ...], RawHandler]] = []
        self._commands: queue.Queue[Command | WatchlistVersionNotice | None] = queue.Queue()
        self._raw: queue.Queue[tuple[RawHandler, str, bytes] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ registration

    def add_raw(self, filters: tuple[str, ...] | list[str], handler: RawHandler) -> None:
        if self._threads:
            raise RuntimeError("register message handlers before start()")
        self._raw_handlers.append((tuple(filters), handler))

    @property
    def raw_filters(self) -> list[str]:
        return [f for filters, _ in self._raw_handlers for f in filters]

    # ------------------------------------------------------------------ input (network thread; never blocks)

    def submit_command(self, command: Command) -> None:
        self._commands.put(command)

    def submit_notice(self, notice: WatchlistVersionNotice) -> bool:
        """Queue a verified notice if anyone wants it; False if nobody does."""
        if self.notice_handler is None:
            return False
        self._commands.put(notice)
        return True

    def submit_raw(self, topic: str, payload: bytes) -> bool:
        """Queue *payload* for every raw handler whose filter matches *topic*; False if none does."""
        matched = False
        for filters, handler in self._raw_handlers:
            if any(topic_matches(f, topic) for f in filters):
                self._raw.put((handler, topic, payload))
                matched = True
        return matched

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        workers: list[tuple[str, Callable[[], None]]] = [("commands", self._command_loop)]
        if self._raw_handlers:
            workers.append(("messages", self._raw_loop))
        for name, target in workers:
            thread = threading.Thread(target=target, name=f"link-{self.gate_id}-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish what is queued, then stop the threads."""
        self._commands.put(None)
        self._raw.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout_s)
            if thread.is_alive():
                log.error("gate_id=%s: thread %s did not stop", self.gate_id, thread.name)

    # ------------------------------------------------------------------ workers

    def _command_loop(self) -> None:
        while (item := self._commands.get()) is not None:
            if isinstance(item, Command):
                self._execute(item)
            else:
                self._deliver_notice(item)

    def _raw_loop(self) -> None:
        while (item := self._raw.get()) is not None:
            handler, topic, payload = item
            try:
                handler(topic, payload)
            except Exception:  # one bad message must not stop the next (the handler logs its own refusals)
                self._count("raw_handler_error", 1)
                log.exception("gate_id=%s: handler for %s failed", self.gate_id, topic)

    def _execute(self, command: Command) -> None:
        try:
            first = self._first_time(command)
        except LinkError:  # cannot record it, so cannot prove it is not a replay: do not run it
            log.exception("gate_id=%s command_id=%s: not recorded, not executed", self.gate_id, command.command_id)
            self._count("rejected:not_recorded", 1)
            return
        if not first:
            self._count("commands_rejected", 1)
            self._count("rejected:replayed", 1)
            log.warning("gate_id=%s command_id=%s: already executed before a restart", self.gate_id, command.command_id)
            return
        handler = self.command_handler
        if command.action == CommandAction.RESEND_EVENTS:
            handler = self.resend_handler
        if handler is None:
            ack = CommandAck(command_id=command.command_id, accepted=False, reason="gate has no command handler")
        else:
            try:
                ack = handler(command)
            except Exception as exc:  # the gate's failure is reported to central, not raised here
                log.exception("gate_id=%s command_id=%s: handler failed", self.gate_id, command.command_id)
                reason = f"gate error: {type(exc).__name__}"
                ack = CommandAck(command_id=command.command_id, accepted=False, reason=reason)
        self._count("commands_executed" if ack.accepted else "commands_refused_by_gate", 1)
        try:
            self._publish_ack(ack)
        except LinkError:
            log.exception("gate_id=%s command_id=%s: ack not queued", self.gate_id, command.command_id)

    def _deliver_notice(self, notice: WatchlistVersionNotice) -> None:
        handler = self.notice_handler
        if handler is None:
            return
        try:
            handler(notice)
        except Exception:
            log.exception("gate_id=%s: watchlist notice handler failed (version %d)", self.gate_id, notice.version)
