"""Errors of the wire contract.

ProtocolError
 ├── MalformedMessage(ProtocolError, ValueError)   not JSON, wrong shape, unknown kind
 ├── UnknownSender(ProtocolError, LookupError)     no key on file for the claimed sender
 ├── ForgedMessage(ProtocolError, ValueError)      signature missing or wrong (forged or tampered)
 ├── ReplayedMessage(ProtocolError, ValueError)    already seen, or from before the sender's window
 └── ExpiredMessage(ProtocolError, ValueError)     outside its time window or past its expiry
"""


class ProtocolError(Exception):
    """Base of every error raised while reading a message off the wire."""

    reason = "protocol_error"


class MalformedMessage(ProtocolError, ValueError):
    """The payload is not a well-formed envelope of a known kind."""

    reason = "malformed"


class UnknownSender(ProtocolError, LookupError):
    """The envelope names a sender we hold no public key for."""

    reason = "unknown_sender"


class ForgedMessage(ProtocolError, ValueError):
    """The signature does not verify: the message was forged or altered in transit."""

    reason = "bad_signature"


class ReplayedMessage(ProtocolError, ValueError):
    """The message was seen before, or its sequence number is behind what was already accepted."""

    reason = "replayed"


class ExpiredMessage(ProtocolError, ValueError):
    """The message's timestamp is outside the accepted window, or a command is past its expiry."""

    reason = "expired"
