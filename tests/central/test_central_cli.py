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
    """``serve`` uses both secrets; (database-only commands need neither: test_cli_help.py)."""
    monkeypatch.delenv("AUTOGATE_CENTRAL_DEMO_MODE", raising=False)
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", "postgresql+psycopg://u:topsecretpw@db/x")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SECRET_KEY" in err and "topsecretpw" not in err



def test_the_http_loop_outlives_a_socket_closed_under_it() -> None:
    """The state ``close_http`` can leave for an instant at shutdown: a socket still in the
    server loop's map, already closed by the stopping thread while the loop was busy. The
    select() loop then died of EBADF with a traceback; the poll() loop of ``http_server`` finds
    the socket invalid and closes it, and ends without an error."""
    import threading

    from flask import Flask

    from central.cli import http_server

    server = http_server(Flask(__name__), host="127.0.0.1", port=0, threads=1)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # the loop thread's death is the failure under test
            failures.append(exc)

    busy, release = threading.Event(), threading.Event()

    def hold_the_loop() -> None:  # runs in the loop thread, between two waits
        busy.set()
        release.wait(30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    server.trigger.pull_trigger(hold_the_loop)
    assert busy.wait(30)
    server.socket.close()  # behind the loop's back: its map still holds the socket
    release.set()
    thread.join(5)  # the loop's next wait takes in the closed socket (poll: and closes the server)
    server.close()
    thread.join(30)
    assert failures == [] and not thread.is_alive()
