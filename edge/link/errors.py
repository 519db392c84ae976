"""Errors of the gate's link to central.

The tree (each leaf also inherits the builtin it resembles, so callers may catch either)::

    LinkError
    ├── OutboxError (OSError)              the outbox database cannot be opened, read or written
    │   └── OutboxOwnedByAnotherGate       the database file was created by another gate (ValueError too)
    ├── OutboxClosed (RuntimeError)        an append or read after ``close()``
    ├── LinkConfigError (ValueError)       the link cannot be built from these settings (keys, TLS files)
    ├── MisroutedCommand (ValueError)      a valid command addressed to another gate
    └── UnexpectedPayload (ValueError)     a valid message of the wrong kind for its topic

Bad messages arriving from the broker raise :class:`protocol.errors.ProtocolError` (forged,
expired, replayed, malformed) or one of the last two leaves; the link logs, counts (by the
error's ``reason``) and drops them, never letting one escape a paho callback.
"""

from __future__ import annotations


class LinkError(Exception):
    """Base of every error raised by ``edge.link``."""


class OutboxError(LinkError, OSError):
    """The outbox database cannot be opened, read or written."""


class OutboxOwnedByAnotherGate(OutboxError, ValueError):
    """The outbox file belongs to another gate id; sending its rows would forge that gate's events."""


class OutboxClosed(LinkError, RuntimeError):
    """The outbox was used after ``close()``."""


class LinkConfigError(LinkError, ValueError):
    """The link cannot be built from these settings (missing keys, unreadable TLS files)."""


class MisroutedCommand(LinkError, ValueError):
    """A correctly signed command names another gate; executing it would act on the wrong doors."""

    reason = "wrong_gate"


class UnexpectedPayload(LinkError, ValueError):
    """A correctly signed message of a kind that does not belong on this topic."""

    reason = "wrong_kind"
