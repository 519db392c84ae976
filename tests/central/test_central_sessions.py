"""Issue 18 item 6: logout, a password change and disabling an account end the session on the
server (a captured cookie stops working); production cookies are Secure with HSTS."""

from __future__ import annotations

import re

from central_support import CENTRAL_KEY, NOW_S, TEST_PASSWORD, add_user, demo_settings
from flask.testing import FlaskClient

from central.app import create_app
from central.models import User
from central.roles import Role
from central.settings import CentralSettings


def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code == 302
    return client.get("/api/v1/me").get_json()["csrf_token"]


def captured_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("autogate_session")
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str) -> int:
    thief = app.test_client()
    thief.set_cookie("autogate_session", cookie)
    return thief.get("/api/v1/me").status_code


def test_a_cookie_captured_before_logout_does_not_work_after(app, client: FlaskClient, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    token = login(client, "sari")
    stolen = captured_cookie(client)
    assert replay(app, stolen) == 200
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 302
    assert replay(app, stolen) == 401
    # Logging in again gives a working session; the old cookie stays dead.
    login(client, "sari")
    assert client.get("/api/v1/me").status_code == 200
    assert replay(app, stolen) == 401


def test_a_password_change_ends_other_sessions_but_not_the_changing_one(app, database) -> None:
    add_user(database, "sari", Role.OFFICER)
    elsewhere = app.test_client()
    login(elsewhere, "sari")
    here = app.test_client()
    token = login(here, "sari")
    new = "a brand new passphrase"
    response = here.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": new, "confirm_password": new, "csrf_token": token})
    assert response.status_code == 302
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_disabling_an_account_ends_its_sessions(app, database) -> None:
    user_id = add_user(database, "agus", Role.OFFICER)
    officer = app.test_client()
    login(officer, "agus")
    stolen = captured_cookie(officer)
    add_user(database, "root", Role.ADMIN)
    admin = app.test_client()
    token = login(admin, "root")
    admin.post(f"/admin/users/{user_id}", data={"role": "officer", "csrf_token": token})  # active unticked
    with database.session() as session:
        user = session.get(User, user_id)
        assert not user.active and user.session_generation >= 1
    # Even re-enabled, the cookie from before stays revoked.
    admin.post(f"/admin/users/{user_id}", data={"role": "officer", "active": "on", "csrf_token": token})
    with database.session() as session:
        assert session.get(User, user_id).active
    assert replay(app, stolen) == 401


def test_production_cookies_are_secure_with_hsts(tmp_path, database) -> None:
    key_file = tmp_path / "central.key"
    CENTRAL_KEY.save(key_file)
    settings = CentralSettings(database_url=f"sqlite:///{tmp_path / 'central.db'}", secret_key="s" * 40, central_key_file=key_file)
    assert settings.secure_cookies
    app = create_app(settings, database=database, central_key=CENTRAL_KEY, clock=lambda: NOW_S)
    add_user(database, "sari", Role.SUPERVISOR)
    client = app.test_client()
    response = client.get("/login", base_url="https://central.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    set_cookie = response.headers["Set-Cookie"]
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie


def test_demo_mode_and_an_explicit_setting_relax_it(tmp_path, app, client) -> None:
    assert not demo_settings("sqlite://").secure_cookies
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert demo_settings("sqlite://", session_cookie_secure=True).secure_cookies
    key_file = tmp_path / "central.key"
    CENTRAL_KEY.save(key_file)
    plain = CentralSettings(secret_key="s" * 40, central_key_file=key_file, session_cookie_secure=False)
    assert not plain.secure_cookies
