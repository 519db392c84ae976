"""Command verification, without a broker: only central's fresh, signed, unseen commands for this gate pass."""

from __future__ import annotations

import json

import pytest

from edge.link.errors import MisroutedCommand, UnexpectedPayload
from edge.link.intake import CommandIntake
from protocol.envelope import seal
from protocol.errors import (
    ExpiredMessage,
    ForgedMessage,
    MalformedMessage,
    ProtocolError,
    ReplayedMessage,
    UnknownSender,
)
from protocol.keys import KeyPair, generate_keypair
from protocol.messages import Command, CommandAction, Heartbeat, WatchlistVersionNotice

NOW = 1_800_000_000_000
GATE = "G1"


@pytest.fixture
def central() -> KeyPair:
    return generate_keypair()


def command(command_id: str = "c1", gate_id: str = GATE, expires_in_ms: int = 30_000) -> Command:
    return Command(
        command_id=command_id,
        gate_id=gate_id,
        action=CommandAction.GRANT_RETRY,
        issued_by="supervisor1",
        expires_at_ms=NOW + expires_in_ms,
    )


def sealed(payload: object, key: KeyPair, *, sender: str = "central", sent_at_ms: int = NOW) -> bytes:
    return seal(payload, sender=sender, key=key, seq=0, now_ms=sent_at_ms)  # type: ignore[arg-type]


def tamper(data: bytes) -> bytes:
    document = json.loads(data)
    document["payload"]["action"] = "release_held"
    return json.dumps(document).encode()


def test_valid_command_passes_once_then_is_a_replay(central: KeyPair) -> None:
    intake = CommandIntake(GATE, central.public)
    data = sealed(command(), central)
    assert intake.verify_command(data, now_ms=NOW) == command()
    with pytest.raises(ReplayedMessage):
        intake.verify_command(data, now_ms=NOW + 10)
    # Re-sealed with a new message id, the same command id is still a replay.
    with pytest.raises(ReplayedMessage):
        intake.verify_command(sealed(command(), central), now_ms=NOW + 20)


@pytest.mark.parametrize(
    ("name", "make", "error", "reason"),
    [
        (
            "forged: signed by another key",
            lambda c: sealed(command(), generate_keypair()),
            ForgedMessage,
            "bad_signature",
        ),
        ("tampered after signing", lambda c: tamper(sealed(command(), c)), ForgedMessage, "bad_signature"),
        ("sender is not central", lambda c: sealed(command(), c, sender="G2"), ForgedMessage, "bad_signature"),
        ("command past its expiry", lambda c: sealed(command(expires_in_ms=-1), c), ExpiredMessage, "expired"),
        ("envelope too old", lambda c: sealed(command(), c, sent_at_ms=NOW - 61_000), ExpiredMessage, "expired"),
        (
            "envelope from the future",
            lambda c: sealed(command(), c, sent_at_ms=NOW + 600_000),
            ExpiredMessage,
            "expired",
        ),
        ("for another gate", lambda c: sealed(command(gate_id="G2"), c), MisroutedCommand, "wrong_gate"),
        ("not a command", lambda c: sealed(Heartbeat(online=True), c), UnexpectedPayload, "wrong_kind"),
        ("garbage", lambda c: b"\x00\xffnot json", MalformedMessage, "malformed"),
        ("JSON but no envelope", lambda c: b'{"hello": 1}', MalformedMessage, "malformed"),
        ("oversized", lambda c: b" " * 70_000, MalformedMessage, "malformed"),
    ],
)
def test_bad_commands_are_refused_and_not_remembered(central: KeyPair, name: str, make, error, reason) -> None:
    """Anything but central's fresh command for this gate must never reach the doors."""
    intake = CommandIntake(GATE, central.public)
    with pytest.raises(error) as caught:
        intake.verify_command(make(central), now_ms=NOW)
    assert caught.value.reason == reason
    # A refused command does not poison the memory: the genuine one still runs.
    assert intake.verify_command(sealed(command(), central), now_ms=NOW).command_id == "c1"


def test_gate_without_central_key_refuses_everything(central: KeyPair) -> None:
    intake = CommandIntake(GATE, None)
    with pytest.raises(UnknownSender):
        intake.verify_command(sealed(command(), central), now_ms=NOW)
    with pytest.raises(ProtocolError):
        intake.verify_notice(sealed(command(), central), now_ms=NOW)


def test_watchlist_notice_of_any_age_is_accepted_but_must_be_signed(central: KeyPair) -> None:
    """The notice is retained: a gate starting a week later must still learn the current version."""
    notice = WatchlistVersionNotice(version=7, entries=3, sha256="a" * 64, published_at_ms=NOW - 7 * 86_400_000)
    intake = CommandIntake(GATE, central.public)
    old = sealed(notice, central, sent_at_ms=NOW - 7 * 86_400_000)
    assert intake.verify_notice(old, now_ms=NOW) == notice
    with pytest.raises(ForgedMessage):
        intake.verify_notice(sealed(notice, generate_keypair()), now_ms=NOW)
    with pytest.raises(UnexpectedPayload):
        intake.verify_notice(sealed(command(), central), now_ms=NOW)


@pytest.mark.parametrize("skew_ms", [-3_600_000, 90_000, 600_000])
def test_resend_request_is_accepted_once_whatever_the_gates_clock(central: KeyPair, skew_ms: int) -> None:
    """A gate whose clock is off refused central's resend_events as expired or from the future,
    so the events central was missing never came (the chaos suite's skewed-clock gates lost
    crossings). Resending is harmless (central drops what it has by message id): accepted once."""
    intake = CommandIntake(GATE, central.public)
    resend = Command(command_id="r1", gate_id=GATE, action=CommandAction.RESEND_EVENTS, issued_by="system",
                     expires_at_ms=NOW + 30_000, from_seq=1, to_seq=5)
    data = seal(resend, sender="central", key=central, seq=0, now_ms=NOW)
    assert intake.verify_command(data, now_ms=NOW + skew_ms).command_id == "r1"
    with pytest.raises(ReplayedMessage):
        intake.verify_command(data, now_ms=NOW + skew_ms)


@pytest.mark.parametrize("skew_ms", [-3_600_000, 90_000])
def test_other_commands_still_need_the_clock(central: KeyPair, skew_ms: int) -> None:
    intake = CommandIntake(GATE, central.public)
    data = seal(command(), sender="central", key=central, seq=0, now_ms=NOW)
    with pytest.raises(ExpiredMessage):
        intake.verify_command(data, now_ms=NOW + skew_ms)


def test_a_forged_resend_request_is_refused_at_any_time(central: KeyPair) -> None:
    intake = CommandIntake(GATE, central.public)
    resend = Command(command_id="r2", gate_id=GATE, action=CommandAction.RESEND_EVENTS, issued_by="system",
                     expires_at_ms=NOW + 30_000, from_seq=1, to_seq=5)
    with pytest.raises(ForgedMessage):
        intake.verify_command(seal(resend, sender="central", key=generate_keypair(), seq=0, now_ms=NOW),
                              now_ms=NOW + 3_600_000)
    with pytest.raises(MisroutedCommand):
        intake.verify_command(seal(resend.model_copy(update={"gate_id": "G2"}), sender="central", key=central,
                                   seq=0, now_ms=NOW), now_ms=NOW + 3_600_000)
