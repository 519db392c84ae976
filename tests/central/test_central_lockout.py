"""Issue 18 item 7: lockout per account and per client address, with the client's address taken
from X-Forwarded-For only when the direct peer is a configured reverse proxy."""

from __future__ import annotations

import re

import pytest
from central_support import CENTRAL_KEY, NOW_S, TEST_PASSWORD, add_user, demo_settings
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from central.app import create_app
from central.models import AuditEntry, User
from central.roles import Role

PROXY = "10.0.0.1"


@pytest.fixture
def proxied_app(database, sqlite_url) -> Flask:
    return create_app(
        demo_settings(sqlite_url, trusted_proxies=[f"{PROXY}/32"]),
        database=database, central_key=CENTRAL_KEY, clock=lambda: NOW_S,
    )


def login(client: FlaskClient, username: str, password: str, *, peer: str, forwarded_for: str | None = None):
    environ = {"REMOTE_ADDR": peer}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = client.get("/login", environ_base=environ, headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ, headers=headers)


def test_failures_from_one_address_do_not_lock_others_behind_the_proxy(proxied_app: Flask, database) -> None:
    add_user(database, "agus", Role.OFFICER)
    add_user(database, "sari", Role.SUPERVISOR)
    attacker = proxied_app.test_client()
    for attempt in range(20):
        assert login(attacker, "agus", f"wrong password {attempt}", peer=PROXY, forwarded_for="203.0.113.7").status_code == 401
    # The attacker's address is now blocked, even for another account ...
    assert login(attacker, "sari", TEST_PASSWORD, peer=PROXY, forwarded_for="203.0.113.7").status_code == 429
    # ... but an officer at another address, through the same proxy, logs in.
    officer = proxied_app.test_client()
    response = login(officer, "sari", TEST_PASSWORD, peer=PROXY, forwarded_for="198.51.100.9")
    assert response.status_code == 302
    # The attacked account itself is locked, from any address.
    assert login(proxied_app.test_client(), "agus", TEST_PASSWORD, peer=PROXY, forwarded_for="198.51.100.10").status_code == 401
    with database.session() as session:
        ips = set(session.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login_failed")))
        assert "203.0.113.7" in ips and PROXY not in ips  # the audit log names the client, not the proxy


def test_failures_across_addresses_lock_the_account(proxied_app: Flask, database) -> None:
    add_user(database, "agus", Role.OFFICER)
    for n in range(5):  # login_max_failures defaults to 5
        client = proxied_app.test_client()
        assert login(client, "agus", "wrong password!", peer=PROXY, forwarded_for=f"203.0.113.{n + 1}").status_code == 401
    assert login(proxied_app.test_client(), "agus", TEST_PASSWORD, peer=f"192.0.2.{77}").status_code == 401
    with database.session() as session:
        assert session.scalar(select(User.locked_until).where(User.username == "agus")) is not None


def test_forwarded_header_from_an_untrusted_peer_is_ignored(proxied_app: Flask, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    client = proxied_app.test_client()
    for n in range(20):  # a client rotating a forged X-Forwarded-For still counts as one address
        login(client, f"nobody{n}", "wrong password!", peer="192.0.2.50", forwarded_for=f"198.51.100.{n}")
    assert login(client, "sari", TEST_PASSWORD, peer="192.0.2.50", forwarded_for="198.51.100.200").status_code == 429
    with database.session() as session:
        assert set(session.scalars(select(AuditEntry.ip))) == {"192.0.2.50"}


def test_trusted_proxies_must_be_addresses(sqlite_url) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not an address or network"):
        demo_settings(sqlite_url, trusted_proxies=["proxy.example"])
