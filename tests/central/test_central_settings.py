"""Settings refuse to start on default secrets outside demo mode, and read the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from central.settings import CentralSettings

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AUTOGATE_CENTRAL_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "SECRET_KEY"),
        ({"secret_key": "short", "central_key_file": "k"}, "SECRET_KEY"),
        ({"secret_key": SECRET}, "CENTRAL_KEY_FILE"),
    ],
)
def test_production_settings_refuse_missing_secrets(kwargs, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CentralSettings(**kwargs)


def test_demo_mode_needs_no_secrets() -> None:
    settings = CentralSettings(demo_mode=True)
    assert settings.secret_key is None and settings.database_url.startswith("sqlite:///")
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)


def test_environment_with_nested_mqtt_settings(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AUTOGATE_CENTRAL_SECRET_KEY", SECRET)
    monkeypatch.setenv("AUTOGATE_CENTRAL_CENTRAL_KEY_FILE", str(tmp_path / "central.key"))
    monkeypatch.setenv("AUTOGATE_CENTRAL_MQTT__HOST", "broker.local")
    monkeypatch.setenv("AUTOGATE_CENTRAL_MQTT__PORT", "8883")
    monkeypatch.setenv("AUTOGATE_CENTRAL_MQTT__PASSWORD", "hunter2hunter2")
    settings = CentralSettings()
    assert (settings.mqtt.host, settings.mqtt.port) == ("broker.local", 8883)
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize("field", [{"mqtt": {"port": 0}}, {"event_max_age_s": 1}, {"colour": "red"}, {"mqtt": {"nope": 1}}])
def test_out_of_bounds_or_unknown_fields_are_refused(field) -> None:
    with pytest.raises(ValidationError):
        CentralSettings(demo_mode=True, **field)


def test_tool_settings_without_secrets_can_never_sign_or_serve(tmp_path) -> None:
    """A tool's settings (no secret, no key: ``autogate watchlist import``) must not fall back to
    the demo-mode throwaway key or session secret if some code path tries to sign or serve."""
    from central.app import create_app, load_central_key
    from central.errors import ConfigurationError
    from central.settings import CentralToolSettings

    settings = CentralToolSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}")
    assert len(settings.missing_secrets()) == 2
    assert settings.missing_secrets(session_secret=False, signing_key=False) == []
    with pytest.raises(ConfigurationError, match="CENTRAL_KEY_FILE"):
        load_central_key(settings)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(settings)
