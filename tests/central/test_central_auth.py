"""Login, lockout, rate limit, CSRF, cookies and the audit trail of officer actions."""

from __future__ import annotations

import re

import pytest
from central_support import CENTRAL_KEY, NOW_S, TEST_PASSWORD, act_as, add_user, demo_settings
from flask.testing import FlaskClient
from sqlalchemy import select

from central.app import create_app
from central.models import AuditEntry, User
from central.roles import Role


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(client)})


def audit_actions(database) -> list[tuple[str, str | None]]:
    with database.session() as session:
        return [(e.action, e.username) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_login_then_logout_is_audited(client: FlaskClient, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    response = login(client, "sari")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/console"
    me = client.get("/api/v1/me").get_json()
    assert (me["username"], me["role"]) == ("sari", "supervisor")
    assert client.post("/logout", headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401
    assert audit_actions(database) == [("login", "sari"), ("logout", "sari")]


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    login(client, "sari")
    cookie = client.get_cookie("autogate_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"


@pytest.mark.parametrize("password", ["wrong password!!", ""])
def test_wrong_password_is_refused_logged_and_audited(client: FlaskClient, database, password: str, caplog) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    response = login(client, "sari", password)
    assert response.status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    assert audit_actions(database) == [("login_failed", "sari")]
    assert any("login" in r.getMessage() and "sari" in r.getMessage() for r in caplog.records)
    assert all(password not in r.getMessage() for r in caplog.records if password)


def test_unknown_user_gets_the_same_answer(client: FlaskClient) -> None:
    response = login(client, "nobody")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_user_is_locked_after_repeated_failures(tmp_path, database) -> None:
    app = create_app(demo_settings(f"sqlite:///{tmp_path / 'central.db'}", login_max_failures=2),
                     database=database, central_key=CENTRAL_KEY, clock=lambda: NOW_S)
    client = app.test_client()
    add_user(database, "sari", Role.SUPERVISOR)
    assert login(client, "sari", "wrong password 1").status_code == 401
    assert login(client, "sari", "wrong password 2").status_code == 401
    # Locked now: even the right password is refused, with the same message.
    assert login(client, "sari").status_code == 401
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == "sari"))
        assert user.locked_until is not None


def test_one_address_is_rate_limited_across_usernames(tmp_path, database) -> None:
    app = create_app(demo_settings(f"sqlite:///{tmp_path / 'central.db'}", login_ip_max_failures=2),
                     database=database, central_key=CENTRAL_KEY, clock=lambda: NOW_S)
    client = app.test_client()
    for name in ("sari", "a-user", "b-user"):
        add_user(database, name, Role.SUPERVISOR)
    login(client, "a-user", "x" * 12)
    login(client, "b-user", "x" * 12)
    assert login(client, "sari").status_code == 429


def test_login_without_csrf_token_is_refused(client: FlaskClient, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    client.get("/login")
    response = client.post("/login", data={"username": "sari", "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-CSRF-Token": "not-the-token"}, {"X-CSRF-Token": ""}],
    ids=["missing", "wrong", "empty"],
)
def test_state_changing_api_calls_need_the_csrf_header(client: FlaskClient, database, headers) -> None:
    act_as(client, database, Role.SUPERVISOR)
    response = client.post("/api/v1/alerts/1/ack", json={}, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["reason"] == "csrf"
    response = client.post("/logout", headers=headers)
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # still logged in


def test_open_redirect_after_login_is_refused(client: FlaskClient, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    token = _csrf(client)
    response = client.post("/login?next=//evil.example/", data={"username": "sari", "password": TEST_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_security_headers_are_set(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_weak_hash_parameters_are_upgraded_at_login(client: FlaskClient, database) -> None:
    from argon2 import PasswordHasher

    add_user(database, "sari", Role.SUPERVISOR)
    login(client, "sari")
    with database.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "sari"))
    assert not PasswordHasher().check_needs_rehash(stored)
