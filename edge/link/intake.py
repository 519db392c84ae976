"""Deciding whether to believe a message from central: pure, no MQTT, no wall clock.

A gate opens doors on commands, so a command must be (in this order, cheapest first): a sealed
envelope from ``central`` that verifies with central's public key (forged and tampered messages
stop here), recent (``max_age_ms``), a :class:`~protocol.messages.Command` addressed to this
gate, not past its own expiry and never seen before (:class:`~protocol.envelope.CommandMemory`).
Only then is it remembered, so a replay of an accepted command is refused but a rejected one
cannot poison the memory.
"""

from __future__ import annotations

from edge.link.errors import MisroutedCommand, UnexpectedPayload
from protocol.envelope import CENTRAL_SENDER, CommandMemory, open_envelope
from protocol.errors import UnknownSender
from protocol.keys import PublicKey
from protocol.messages import Command, WatchlistVersionNotice


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
        envelope = open_envelope(
            data, keys=self._keys, now_ms=now_ms, max_age_ms=self.max_age_ms, expected_sender=CENTRAL_SENDER
        )
        command = envelope.payload
        if not isinstance(command, Command):
            raise UnexpectedPayload(f"message {envelope.message_id} on the command topic is a {command.kind!r}")
        if command.gate_id != self.gate_id:
            raise MisroutedCommand(
                f"command {command.command_id} is for gate {command.gate_id!r}, not {self.gate_id!r}"
            )
        self._memory.check_and_remember(command.command_id, command.expires_at_ms, now_ms)
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
