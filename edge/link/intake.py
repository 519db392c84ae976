"""Deciding whether to believe a message from central: pure, no MQTT, no wall clock.

A gate opens doors on commands, so a command must be (in this order, cheapest first): a sealed
envelope from ``central`` that verifies with central's public key (forged and tampered messages
stop here), recent (``max_age_ms``), a :class:`~protocol.messages.Command` addressed to this
gate, not past its own expiry and never seen before (:class:`~protocol.envelope.CommandMemory`).
Only then is it remembered, so a replay of an accepted command is refused but a rejected one
cannot poison the memory.

One command is exempt from the clock: ``resend_events``. A gate whose clock is off by more than a
command's lifetime would refuse every command. Central's request for missing events would then
never be answered, and those events would stay missing. Executing it changes nothing at the gate:
it republishes stored rows, which central recognises by message id. So a signed resend request
of any age is accepted once, whatever the gate's clock says. Every other command still needs a
clock within a minute of central's.
"""

from __future__ import annotations

from edge.link.errors import MisroutedCommand, UnexpectedPayload
from protocol.envelope import CENTRAL_SENDER, CommandMemory, open_envelope
from protocol.errors import ExpiredMessage, UnknownSender
from protocol.keys import PublicKey
from protocol.messages import Command, CommandAction, WatchlistVersionNotice

_ANY_TIME_MS = 10 * 365 * 24 * 3600 * 1000


class CommandIntake:
    """Verifies central's commands for one gate and remembers the ones it let through.

    :param gate_id: this gate; a command for another gate is refused.
    :param central_key: central's public key; ``None`` refuses everything (a demo gate with no
        central key cannot tell a supervisor from anyone else).
    :param max_age_ms: how old a command envelope may be when it arrives (default 60 s).
    """

    def __init__(
        self,
        gate_id: str,
        central_key: PublicKey | None,
        *,
        max_age_ms: int = 60_000,
        memory: CommandMemory | None = None,
    ) -> None:
        self.gate_id = gate_id
        self._central_key = central_key
        self.max_age_ms = max_age_ms
        self._memory = memory if memory is not None else CommandMemory()

    def _keys(self, sender: str) -> PublicKey | None:
        return self._central_key if sender == CENTRAL_SENDER else None

    def verify_command(self, data: bytes, *, now_ms: int) -> Command:
        """Return the command in *data* if the gate should execute it; raise otherwise."""
        if self._central_key is None:
            raise UnknownSender("this gate has no central public key: commands are disabled")
        try:
            envelope = open_envelope(
                data, keys=self._keys, now_ms=now_ms, max_age_ms=self.max_age_ms, expected_sender=CENTRAL_SENDER
            )
        except ExpiredMessage:
            return self._resend_at_any_time(data, now_ms)
        command = self._addressed(envelope)
        try:
            self._memory.check_and_remember(command.command_id, command.expires_at_ms, now_ms)
        except ExpiredMessage:
            if command.action != CommandAction.RESEND_EVENTS:
                raise
            self._memory.check_and_remember(command.command_id, now_ms + self.max_age_ms, now_ms)
        return command

    def _addressed(self, envelope) -> Command:  # type: ignore[no-untyped-def]
        command = envelope.payload
        if not isinstance(command, Command):
            raise UnexpectedPayload(f"message {envelope.message_id} on the command topic is a {command.kind!r}")
        if command.gate_id != self.gate_id:
            raise MisroutedCommand(
                f"command {command.command_id} is for gate {command.gate_id!r}, not {self.gate_id!r}"
            )
        return command

    def _resend_at_any_time(self, data: bytes, now_ms: int) -> Command:
        """A signed ``resend_events`` outside the time window (the gate's clock is off): accepted once."""
        envelope = open_envelope(data, keys=self._keys, now_ms=now_ms, max_future_ms=_ANY_TIME_MS,
                                 max_age_ms=None, expected_sender=CENTRAL_SENDER)
        command = self._addressed(envelope)
        if command.action != CommandAction.RESEND_EVENTS:
            # the first verdict stands for every other command
            open_envelope(data, keys=self._keys, now_ms=now_ms, max_age_ms=self.max_age_ms,
                          expected_sender=CENTRAL_SENDER)
        self._memory.check_and_remember(command.command_id, max(command.expires_at_ms, now_ms + self.max_age_ms),
                                        now_ms)
        return command

    def verify_notice(self, data: bytes, *, now_ms: int) -> WatchlistVersionNotice:
        """Return the watchlist notice in *data*; it is retained, so any age is accepted."""
        if self._central_key is None:
            raise UnknownSender("this gate has no central public key: watchlist notices are disabled")
        envelope = open_envelope(data, keys=self._keys, now_ms=now_ms, expected_sender=CENTRAL_SENDER)
        notice = envelope.payload
        if not isinstance(notice, WatchlistVersionNotice):
            raise UnexpectedPayload(f"message {envelope.message_id} on the watchlist topic is a {notice.kind!r}")
        return notice
