"""``autogate central`` management commands, against a SQLite file."""

from __future__ import annotations

import io
import json

import pytest

from central.cli import main
from protocol import generate_keypair


@pytest.fixture
def env(monkeypatch, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    monkeypatch.setenv("AUTOGATE_CENTRAL_DEMO_MODE", "1")
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", url)
    return url


def test_init_add_gate_create_user_and_stats(env, capsys, monkeypatch) -> None:
    assert main(["init-db"]) == 0
    key = generate_keypair().public.b64
    assert main(["add-gate", "gate-01", "--public-key", key, "--direction", "departure", "--name", "D1"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["create-user", "sari", "--role", "supervisor", "--password-stdin"]) == 0
    capsys.readouterr()
    assert main(["stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["gates"] == 1 and stats["crossings"] == 0 and stats["crossings_per_gate"] == {}


@pytest.mark.parametrize(
    "argv",
    [
        ["add-gate", "gate-01", "--public-key", "not-base64!", "--direction", "departure"],
        ["add-gate", "bad/id", "--public-key", generate_keypair().public.b64, "--direction", "arrival"],
    ],
)
def test_bad_gate_registration_fails_cleanly(env, argv, capsys) -> None:
    main(["init-db"])
    assert main(argv) == 1
    assert "autogate central:" in capsys.readouterr().err


def test_short_password_is_refused(env, monkeypatch, capsys) -> None:
    main(["init-db"])
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["create-user", "sari", "--role", "officer", "--password-stdin"]) == 1
    assert "at least 12" in capsys.readouterr().err


def test_production_configuration_without_secrets_is_refused(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.delenv("AUTOGATE_CENTRAL_DEMO_MODE", raising=False)
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", "postgresql+psycopg://u:topsecretpw@db/x")
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert "SECRET_KEY" in err and "topsecretpw" not in err
