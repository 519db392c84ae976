"""Signed envelopes: how any payload travels, and how a receiver decides to believe it.

A receiver calls :func:`open_envelope` on the raw bytes. It checks, in this order, so that the
cheap checks guard the expensive ones: size, UTF-8 and nesting depth (:mod:`protocol.decode`), JSON shape, a known sender, the Ed25519 signature
over the canonical bytes (forged or tampered messages stop here), the time window, and only then
validates the typed payload. What it cannot decide alone is replay: whether this message id or
sequence number was already accepted. That needs the receiver's memory (central's database,
a gate's :class:`CommandMemory`), so it is the receiver's next step.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocol.decode import decode_json
from protocol.errors import ExpiredMessage, ForgedMessage, MalformedMessage, ReplayedMessage, UnknownSender
from protocol.keys import KeyPair, PublicKey
from protocol.messages import PROTOCOL_VERSION, Payload

MAX_MESSAGE_BYTES = 64 * 1024
CENTRAL_SENDER = "central"

SenderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]


class Envelope(BaseModel):
    """A payload with its sender, identity, order, time and signature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = PROTOCOL_VERSION  # type: ignore[assignment]
    sender: SenderName
    message_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    # Per-sender monotonic for durable (outbox) messages; 0 for ephemeral state and heartbeats.
    seq: Annotated[int, Field(ge=0)]
    sent_at_ms: Annotated[int, Field(ge=0)]
    payload: Payload
    signature: str


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, UTF-8, signature left out."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_message_id() -> str:
    return uuid.uuid4().hex


def seal(
    payload: BaseModel,
    *,
    sender: str,
    key: KeyPair,
    seq: int,
    now_ms: int,
    message_id: str | None = None,
    envelope_model: type[BaseModel] = Envelope,
) -> bytes:
    """Sign *payload* as *sender* and return the bytes to publish.

    ``envelope_model`` is the envelope shape the receiver will parse (:class:`Envelope`, or one
    with another payload union such as the watchlist distribution's).
    """
    document: dict[str, Any] = {
        "v": PROTOCOL_VERSION,
        "sender": sender,
        "message_id": message_id or new_message_id(),
        "seq": seq,
        "sent_at_ms": now_ms,
        "payload": payload.model_dump(mode="json"),
    }
    document["signature"] = base64.b64encode(key.sign(canonical_bytes(document))).decode("ascii")
    # Validate what we send with the same rules a receiver applies: never publish a bad message.
    envelope_model.model_validate(document)
    data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"sealed message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return data


KeyLookup = Callable[[str], PublicKey | None] | Mapping[str, PublicKey]


def open_envelope(
    data: bytes,
    *,
    keys: KeyLookup,
    now_ms: int,
    max_future_ms: int = 120_000,
    max_age_ms: int | None = None,
    expected_sender: str | None = None,
    envelope_model: type[Any] = Envelope,
) -> Any:
    """Verify and parse one message; raise a :class:`~protocol.errors.ProtocolError` if it fails.

    ``max_age_ms`` bounds how old a message may be. Durable gate events are delivered late by
    design (the outbox holds them while the network is down), so their window is long; commands
    and heartbeats use short ones. ``expected_sender`` binds the sender to the topic it came on,
    so gate A cannot publish as gate B even with a valid key of its own.
    """
    document = decode_json(data, max_bytes=MAX_MESSAGE_BYTES)
    if not isinstance(document, dict):
        raise MalformedMessage("envelope is not a JSON object")
    sender = document.get("sender")
    if not isinstance(sender, str) or not sender:
        raise MalformedMessage("envelope has no sender")
    if expected_sender is not None and sender != expected_sender:
        raise ForgedMessage(f"sender {sender!r} published on the topic of {expected_sender!r}")
    key = keys.get(sender) if isinstance(keys, Mapping) else keys(sender)
    if key is None:
        raise UnknownSender(f"no public key for sender {sender!r}")
    signature_text = document.get("signature")
    if not isinstance(signature_text, str):
        raise ForgedMessage(f"message from {sender!r} is not signed")
    try:
        signature = base64.b64decode(signature_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ForgedMessage(f"message from {sender!r}: signature is not base64") from exc
    try:
        signed = canonical_bytes(document)
    except (UnicodeEncodeError, ValueError, RecursionError) as exc:
        # A lone surrogate escape (``"\\ud800"``) parses but cannot be encoded back to UTF-8.
        raise MalformedMessage(f"message from {sender!r} cannot be canonicalised: {type(exc).__name__}") from exc
    if not key.verify(signature, signed):
        raise ForgedMessage(f"message from {sender!r}: signature does not verify")
    try:
        envelope = envelope_model.model_validate(document)
    except RecursionError as exc:
        raise MalformedMessage(f"message from {sender!r}: payload too deeply nested") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise MalformedMessage(f"message from {sender!r}: {where}: {first.get('msg')}") from exc
    if envelope.sent_at_ms > now_ms + max_future_ms:
        raise ExpiredMessage(
            f"message {envelope.message_id} from {sender!r} is dated "
            f"{envelope.sent_at_ms - now_ms} ms in the future"
        )
    if max_age_ms is not None and envelope.sent_at_ms < now_ms - max_age_ms:
        raise ExpiredMessage(
            f"message {envelope.message_id} from {sender!r} is "
            f"{now_ms - envelope.sent_at_ms} ms old (window {max_age_ms} ms)"
        )
    return envelope


class CommandMemory:
    """A gate's memory of the commands it has executed, so a replayed command does nothing.

    Commands expire, so an id only has to be remembered until its command's expiry; the memory
    is bounded by ``capacity`` as a second guard.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def check_and_remember(self, command_id: str, expires_at_ms: int, now_ms: int) -> None:
        if expires_at_ms < now_ms:
            raise ExpiredMessage(f"command {command_id} expired {now_ms - expires_at_ms} ms ago")
        for seen_id, expiry in list(self._seen.items()):
            if expiry < now_ms:
                del self._seen[seen_id]
        if command_id in self._seen:
            raise ReplayedMessage(f"command {command_id} was already executed")
        self._seen[command_id] = expires_at_ms
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
