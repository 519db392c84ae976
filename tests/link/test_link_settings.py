"""EdgeSettings: precedence (env over file), nesting, strictness, and refusing to run without keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.settings import EdgeSettings, load_settings
from protocol.keys import generate_keypair


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AUTOGATE_EDGE_"):
            monkeypatch.delenv(name)


CENTRAL_B64 = generate_keypair().public.b64


def keyed(tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "g.key"
    generate_keypair().save(key_file)
    return {"key_file": str(key_file), "central_public_key": generate_keypair().public.b64}


def test_toml_file_then_environment_overrides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators keep one file per gate and override single values (a password) from the environment."""
    keys = keyed(tmp_path)
    config = tmp_path / "gate.toml"
    config.write_text(
        f"""
gate_id = "SH-T3-D01"
direction = "arrival"
key_file = "{keys["key_file"]}"
central_public_key = "{keys["central_public_key"]}"
[mqtt]
host = "broker.internal"
port = 8883
username = "SH-T3-D01"
[mqtt.tls]
enabled = true
[hardware]
kind = "doorboard"
port = "/dev/ttyAMA0"
[biometrics]
central_url = "https://central.internal:8443"
"""
    )
    monkeypatch.setenv("AUTOGATE_EDGE_MQTT__PASSWORD", "from-env")
    monkeypatch.setenv("AUTOGATE_EDGE_MQTT__PORT", "8884")
    settings = load_settings(config)
    assert settings.gate_id == "SH-T3-D01"
    assert settings.direction.value == "arrival"
    assert settings.mqtt.host == "broker.internal"
    assert settings.mqtt.port == 8884, "the environment beats the file"
    assert settings.mqtt.password is not None and settings.mqtt.password.get_secret_value() == "from-env"
    assert "from-env" not in repr(settings), "secrets never show in logs or reprs"
    assert settings.mqtt.tls.enabled
    assert settings.biometrics.fingerprint == settings.biometrics.face == "engines" and settings.biometrics.central_url == "https://central.internal:8443"
    assert settings.hardware.kind == "doorboard" and settings.hardware.port == "/dev/ttyAMA0"
    assert settings.outbox_path == Path("var/edge/SH-T3-D01.outbox.sqlite")


def test_json_file_as_the_demo_writes_it(tmp_path: Path) -> None:
    config = tmp_path / "gate.json"
    config.write_text(
        json.dumps(
            {
                "gate_id": "gate-01",
                "direction": "departure",
                "mqtt": {"host": "127.0.0.1", "port": 1884, "username": "gate-01", "password": "pw"},
                "data_dir": str(tmp_path),
                "heartbeat_interval_s": 5,
                "simulate_travelers": {"rate_per_min": 12.0, "seed": 3},
                **keyed(tmp_path),
            }
        )
    )
    settings = load_settings(config)
    assert settings.simulate_travelers.rate_per_min == 12.0 and settings.simulate_travelers.seed == 3
    assert settings.heartbeat_interval_s == 5
    assert settings.hardware.kind == "simulated"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "key_file and central_public_key required"),
        ({"key_file": "/k"}, "central_public_key required"),
        ({"central_public_key": "not base64!"}, "central_public_key is not a base64 Ed25519 public key"),
        ({"demo_mode": True, "mqtt": {"hots": "typo"}}, "Extra inputs are not permitted"),
        ({"demo_mode": True, "colour": "blue"}, "Extra inputs are not permitted"),
        ({"demo_mode": True, "mqtt": {"port": 70000}}, "less than or equal to 65535"),
        ({"demo_mode": True, "heartbeat_interval_s": 0}, "greater than or equal to 0.05"),
        ({"demo_mode": True, "hardware": {"kind": "teleporter"}}, "does not match any of the expected tags"),
        ({"demo_mode": True, "mqtt": {"reconnect_min_s": 10, "reconnect_max_s": 5}}, "reconnect_max_s must be"),
        (
            {"demo_mode": True, "hardware": {"kind": "gpio"}, "simulate_travelers": {"rate_per_min": 5}},
            "simulate_travelers needs hardware.kind = 'simulated'",
        ),
        ({"key_file": "/k", "central_public_key": CENTRAL_B64}, "biometrics.central_url required"),
        (
            {"key_file": "/k", "central_public_key": CENTRAL_B64, "biometrics": {"face": "simulated"}},
            "biometrics.face = 'simulated' is for demos and tests",
        ),
        ({"demo_mode": True, "biometrics": {"central_url": "ftp://central"}}, "should match pattern"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(overrides: dict[str, object], message: str) -> None:
    """A gate must not start on a typo or without its keys: it would be an impostor or deaf to central."""
    with pytest.raises(ValidationError, match=message):
        EdgeSettings(gate_id="G1", **overrides)


def test_bad_gate_id_is_refused() -> None:
    with pytest.raises(ValidationError, match="gate_id"):
        EdgeSettings(gate_id="gate/with/slash", demo_mode=True)


def test_demo_mode_needs_no_keys_and_gpio_embeds_the_pin_map() -> None:
    settings = EdgeSettings(gate_id="G1", demo_mode=True, hardware={"kind": "gpio"})
    assert settings.key_file is None and settings.central_public_key is None
    assert settings.hardware.kind == "gpio"
    assert settings.hardware.pins.entry.lock == 13  # edge/hardware/gpio DEFAULT_PIN_MAP


def test_unknown_config_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "absent.toml")
    odd = tmp_path / "gate.yaml"
    odd.write_text("gate_id: G1\n")
    with pytest.raises(ValueError, match="use .toml or .json"):
        load_settings(odd)


def test_docs_settings_table_is_current() -> None:
    """docs/edge.md embeds the generated table; a new or changed setting must show up there."""
    from edge.settings import settings_reference

    doc = (Path(__file__).resolve().parents[2] / "docs" / "edge.md").read_text(encoding="utf-8")
    start = doc.index("-->\n", doc.index("<!-- settings-reference")) + len("-->\n")
    end = doc.index("\n<!-- /settings-reference -->")
    assert doc[start:end] == settings_reference(), "regenerate with edge.settings.settings_reference()"
