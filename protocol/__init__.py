"""The wire contract between gates, central and CCTV nodes.

Every MQTT payload is a :class:`~protocol.envelope.Envelope`: who sent it, a unique message id,
a per-sender sequence number, the send time, one typed payload from :mod:`protocol.messages`,
and an Ed25519 signature over all of that. Topic names come only from :mod:`protocol.topics`.
This package imports nothing else of ours, so both edge and central can depend on it.
"""

from protocol.envelope import Envelope, open_envelope, seal
from protocol.errors import (
    ExpiredMessage,
    ForgedMessage,
    MalformedMessage,
    ProtocolError,
    ReplayedMessage,
    UnknownSender,
)
from protocol.keys import KeyPair, PublicKey, generate_keypair
from protocol.messages import (
    PROTOCOL_VERSION,
    BiometricResult,
    CctvAlarm,
    Command,
    CommandAck,
    CommandAction,
    CrossingRecord,
    FaceEvidence,
    GateEvent,
    GateState,
    Heartbeat,
    Payload,
    TravelerDocument,
    WatchlistAck,
    WatchlistVersionNotice,
)

__all__ = [
    "PROTOCOL_VERSION",
    "BiometricResult",
    "CctvAlarm",
    "Command",
    "CommandAck",
    "CommandAction",
    "CrossingRecord",
    "FaceEvidence",
    "Envelope",
    "ExpiredMessage",
    "ForgedMessage",
    "GateEvent",
    "GateState",
    "Heartbeat",
    "KeyPair",
    "MalformedMessage",
    "Payload",
    "ProtocolError",
    "PublicKey",
    "ReplayedMessage",
    "TravelerDocument",
    "UnknownSender",
    "WatchlistAck",
    "WatchlistVersionNotice",
    "generate_keypair",
    "open_envelope",
    "seal",
]
