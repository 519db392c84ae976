"""Issue 18 item 5: no open redirect. Every redirect to a user-supplied target (``?next=`` after
login, ``next`` of the language toggle) goes through ``central.security.redirects``; the bypass
forms browsers accept (tabs and newlines dropped, backslashes read as slashes, schemes,
percent-encoding) all land on the home page."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from central_support import TEST_PASSWORD, add_user
from flask.testing import FlaskClient

from central.roles import Role
from central.security.redirects import is_safe_target

BYPASSES = [
    "/\t/evil.example",  # ?next=/%09/evil.example: the browser drops the tab -> //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", BYPASSES, ids=range(len(BYPASSES)))
def test_unsafe_targets_are_refused(target: str) -> None:
    assert not is_safe_target(target)


@pytest.mark.parametrize("target", ["/", "/console", "/cases/3?tab=notes#history", "/reports?since=2026-01-01"])
def test_local_paths_are_kept(target: str) -> None:
    assert is_safe_target(target)


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("target", BYPASSES[:17], ids=range(17))
def test_login_never_redirects_off_site(client: FlaskClient, database, target: str) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    token = _csrf(client)
    response = client.post(
        "/login?next=" + quote(target, safe=""), data={"username": "sari", "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_keeps_a_local_next(client: FlaskClient, database) -> None:
    add_user(database, "sari", Role.SUPERVISOR)
    token = _csrf(client)
    response = client.post("/login?next=/reports", data={"username": "sari", "password": TEST_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/reports"


@pytest.mark.parametrize("target", BYPASSES, ids=range(len(BYPASSES)))
def test_language_toggle_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    token = _csrf(client)
    response = client.post("/lang", data={"lang": "id", "next": target, "csrf_token": token})
    if "\x00" in target:  # refused before any view (request_guard): no redirect at all
        assert response.status_code == 400
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
