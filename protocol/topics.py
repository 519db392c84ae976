"""Topic names, built in one place. The protocol version is part of every topic.

    autogate/v1/gates/{gate}/events     gate -> central  events, crossings, acks (QoS 1, outbox)
    autogate/v1/gates/{gate}/state      gate -> central  current state (retained)
    autogate/v1/gates/{gate}/health     gate -> central  heartbeat; last will = offline (retained)
    autogate/v1/gates/{gate}/commands   central -> gate  signed, expiring commands (QoS 1)
    autogate/v1/watchlist/notice        central -> gates current watchlist version (retained)

The broker ACL lets gate ``{gate}`` publish only under ``autogate/v1/gates/{gate}/`` and read
only its own commands and the watchlist notice; :func:`gate_acl` renders that for Mosquitto.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocol.messages import PROTOCOL_VERSION

ROOT = f"autogate/v{PROTOCOL_VERSION}"
Channel = Literal["events", "state", "health", "commands"]
GATE_CHANNELS: tuple[Channel, ...] = ("events", "state", "health", "commands")


def gate_topic(gate_id: str, channel: Channel) -> str:
    if "/" in gate_id or "+" in gate_id or "#" in gate_id or not gate_id:
        raise ValueError(f"invalid gate id {gate_id!r}")
    return f"{ROOT}/gates/{gate_id}/{channel}"


def gate_events(gate_id: str) -> str:
    return gate_topic(gate_id, "events")


def gate_state(gate_id: str) -> str:
    return gate_topic(gate_id, "state")


def gate_health(gate_id: str) -> str:
    return gate_topic(gate_id, "health")


def gate_commands(gate_id: str) -> str:
    return gate_topic(gate_id, "commands")


WATCHLIST_NOTICE = f"{ROOT}/watchlist/notice"


def all_gates(channel: Channel) -> str:
    """The subscription filter for one channel of every gate."""
    return f"{ROOT}/gates/+/{channel}"


def shared(filter_: str, group: str = "ingest") -> str:
    """An MQTT 5 shared subscription, so several ingest workers split the load."""
    return f"$share/{group}/{filter_}"


@dataclass(frozen=True)
class GateTopic:
    gate_id: str
    channel: Channel


def parse_gate_topic(topic: str) -> GateTopic:
    """Split ``autogate/v1/gates/{gate}/{channel}``; ValueError for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != f"{ROOT}/gates" or parts[4] not in GATE_CHANNELS:
        raise ValueError(f"not a gate topic: {topic!r}")
    return GateTopic(gate_id=parts[3], channel=parts[4])  # type: ignore[arg-type]


def gate_acl(gate_id: str) -> str:
    """Mosquitto ``acl_file`` stanza for one gate's broker user (the user name is the gate id)."""
    return "\n".join(
        [
            f"user {gate_id}",
            f"topic write {gate_events(gate_id)}",
            f"topic write {gate_state(gate_id)}",
            f"topic write {gate_health(gate_id)}",
            f"topic read {gate_commands(gate_id)}",
            f"topic read {WATCHLIST_NOTICE}",
            "",
        ]
    )


def central_acl(username: str) -> str:
    """Mosquitto ``acl_file`` stanza for central's broker user: it reads every gate's events,
    state and health, sends every gate's commands, and publishes the watchlists and CCTV lists."""
    return "\n".join(
        [
            f"user {username}",
            f"topic read {all_gates('events')}",
            f"topic read {all_gates('state')}",
            f"topic read {all_gates('health')}",
            f"topic write {all_gates('commands')}",
            f"topic readwrite {ROOT}/watchlist/#",
            f"topic readwrite {ROOT}/cctv/#",
            "",
        ]
    )
