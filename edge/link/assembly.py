"""Building a gate's link from its settings: keys, outbox, ``MqttLink``. Used by ``edge/cli.py``.

Kept apart from the CLI so every process that speaks for a gate (the gate itself, the test
traffic helper) builds the link the same way, from the same settings.
"""

from __future__ import annotations

import logging

from edge.link.errors import LinkConfigError
from edge.link.mqtt import MqttLink
from edge.link.outbox import ClockMs, Outbox, wall_clock_ms
from edge.settings import EdgeSettings
from protocol.keys import KeyPair, PublicKey, generate_keypair

log = logging.getLogger(__name__)


def load_keys(settings: EdgeSettings) -> tuple[KeyPair, PublicKey | None]:
    """The gate's signing key and central's public key.

    Without a ``key_file`` (only allowed in demo mode) a key is generated once and kept in
    ``data_dir``, so a demo gate keeps its identity across restarts.
    """
    try:
        if settings.key_file is not None:
            key = KeyPair.load(settings.key_file)
        else:
            path = settings.demo_key_path
            if path.exists():
                key = KeyPair.load(path)
            else:
                key = generate_keypair()
                key.save(path)
                log.warning(
                    "gate_id=%s: demo key generated at %s, public key %s", settings.gate_id, path, key.public.b64
                )
    except (OSError, ValueError) as exc:  # binascii.Error is a ValueError
        raise LinkConfigError(f"gate {settings.gate_id}: cannot load the signing key: {exc}") from exc
    central = PublicKey.from_b64(settings.central_public_key) if settings.central_public_key else None
    return key, central


def open_outbox(settings: EdgeSettings, key: KeyPair, *, clock_ms: ClockMs = wall_clock_ms) -> Outbox:
    return Outbox(
        settings.outbox_path,
        sender=settings.gate_id,
        key=key,
        clock_ms=clock_ms,
        retention_ms=int(settings.outbox_retention_h * 3600 * 1000),
    )


def build_link(
    settings: EdgeSettings,
    *,
    key: KeyPair,
    central_key: PublicKey | None,
    outbox: Outbox,
    clock_ms: ClockMs = wall_clock_ms,
    software_version: str = "",
) -> MqttLink:
    """An unstarted ``MqttLink`` for this gate; call ``start()`` once the handlers are set."""
    return MqttLink(
        settings.gate_id,
        settings.mqtt,
        key=key,
        central_key=central_key,
        outbox=outbox,
        clock_ms=clock_ms,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        command_max_age_ms=int(settings.command_max_age_s * 1000),
        software_version=software_version,
    )
