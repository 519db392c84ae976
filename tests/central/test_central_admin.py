"""Administration in the browser's terms (HTTP), the navigation bar and the 403 page (issue 19,
items 5 and 6). Before, users and gates could only be added from the CLI, with no listing, and
a refused page came back as text/plain showing raw HTML.
"""

from __future__ import annotations

import re

import pytest
from central_support import NOW_MS, FakeGate, act_as, ingest, register
from flask.testing import FlaskClient
from sqlalchemy import select

from central.models import AuditEntry, CommandRecord, Gate, GateMessage, User
from central.roles import Role
from protocol import GateEvent, generate_keypair

NAV = re.compile(r'<nav class="nav".*?</nav>', re.S)


def _nav(html: str) -> list[str]:
    found = NAV.search(html)
    return re.findall(r'data-endpoint="([^"]+)"', found.group(0)) if found else []


def _audit(database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _password_on(page: str) -> str:
    found = re.search(r'id="one-time-password">([^<]+)<', page)
    assert found, "the one-time password is shown on the page"
    return found.group(1)


def _log_in(client: FlaskClient, username: str, password: str):
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.SUPERVISOR, ["auth.index", "work.home", "console.page", "cases.index", "reports.crossings_page",
                           "reports.daily_page", "sla.page", "reports.gates_page"]),
        (Role.ADMIN, ["auth.index", "work.home", "console.page", "cases.index", "reports.crossings_page",
                      "reports.daily_page", "sla.page", "reports.gates_page", "admin.users", "admin.gates",
                      "admin.audit", "work.admin"]),
        (Role.OFFICER, ["auth.index", "work.home", "cases.index", "reports.crossings_page", "reports.daily_page",
                        "sla.page", "reports.gates_page"]),
        (Role.BACKOFFICE, ["auth.index", "work.home", "cases.index", "reports.crossings_page", "reports.daily_page",
                           "sla.page", "reports.gates_page"]),
        (Role.CCTV_OPERATOR, ["auth.index", "work.home", "cases.index"]),
        (Role.REPORT_ONLY, ["auth.index", "work.home", "cases.index", "reports.daily_page", "sla.page",
                            "reports.gates_page"]),
    ],
)
def test_every_role_gets_a_bar_of_the_pages_it_may_open(client, database, role, expected) -> None:
    act_as(client, database, role)
    for path in ("/", "/reports/daily"):
        page = client.get(path, follow_redirects=True)
        if page.status_code == 403:
            continue
        assert _nav(page.get_data(as_text=True)) == expected
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    listed = re.findall(r'<li><a href="[^"]+" data-endpoint="([^"]+)"', home)
    if role is not Role.SUPERVISOR:  # a supervisor's home is the console
        assert listed == [e for e in expected if e != "auth.index"]
        assert "The JSON API is under" not in home
    for endpoint in expected:  # every page the bar offers opens
        url = re.search(rf'href="([^"]+)" data-endpoint="{re.escape(endpoint)}"', home if role is not Role.SUPERVISOR
                        else client.get("/reports/daily").get_data(as_text=True))
        assert url is not None
        assert client.get(url.group(1), follow_redirects=True).status_code == 200, endpoint


def test_a_refused_page_is_an_html_page_with_the_bar(client, database) -> None:
    act_as(client, database, Role.REPORT_ONLY)
    page = client.get("/admin/users")
    assert page.status_code == 403
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<h1" in html and "&lt;" not in html and "may not open this page" in html
    assert "reports.daily_page" in _nav(html)
    api = client.get("/api/v1/audit")
    assert api.status_code == 403 and api.mimetype == "application/json"


def test_admin_creates_a_user_who_must_choose_a_password_at_first_login(client, database, app) -> None:
    token = act_as(client, database, Role.ADMIN)
    created = client.post("/admin/users", data={"username": "rina.officer", "role": "officer", "csrf_token": token})
    assert created.status_code == 201
    one_time = _password_on(created.get_data(as_text=True))
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == "rina.officer"))
        assert user.role == "officer" and user.must_change_password and one_time not in user.password_hash
    [entry] = _audit(database, "user_create")
    assert entry.target == "user:rina.officer" and entry.details["role"] == "officer"
    listing = client.get("/admin/users").get_data(as_text=True)
    assert 'data-username="rina.officer"' in listing and one_time not in listing  # shown once only

    officer = app.test_client()
    assert _log_in(officer, "rina.officer", one_time).status_code == 302
    assert officer.get("/cases").headers["Location"].endswith("/account/password")
    assert officer.get("/api/v1/me").status_code == 403  # nothing else until the password is changed
    with officer.session_transaction() as session:
        csrf = session["csrf_token"]
    refused = officer.post("/account/password", data={"current_password": one_time, "new_password": "short",
                                                      "confirm_password": "short", "csrf_token": csrf})
    assert refused.status_code == 400
    changed = officer.post("/account/password", data={
        "current_password": one_time, "new_password": "a long new passphrase",
        "confirm_password": "a long new passphrase", "csrf_token": csrf})
    assert changed.status_code == 302
    assert officer.get("/cases").status_code == 200
    assert _audit(database, "password_change")[0].username == "rina.officer"


def test_admin_resets_a_password_changes_a_role_and_disables_an_account(client, database, app) -> None:
    token = act_as(client, database, Role.ADMIN)
    other = app.test_client()
    act_as(other, database, Role.SUPERVISOR)
    with database.session() as session:
        target = session.scalar(select(User).where(User.role == "supervisor"))
        target_id, target_name = target.id, target.username
    reset = client.post(f"/admin/users/{target_id}/password", data={"csrf_token": token})
    assert reset.status_code == 200
    new_password = _password_on(reset.get_data(as_text=True))
    assert _audit(database, "user_password_reset")[0].target == f"user:{target_name}"

    changed = client.post(f"/admin/users/{target_id}", data={"role": "officer", "active": "on", "csrf_token": token})
    assert changed.status_code == 302
    [update] = _audit(database, "user_update")
    assert update.details == {"role": ["supervisor", "officer"]}
    assert other.get("/console").headers["Location"].startswith("/login")  # a changed role logs out

    client.post(f"/admin/users/{target_id}", data={"role": "officer", "csrf_token": token})  # "active" unticked
    with database.session() as session:
        assert session.get(User, target_id).active is False
    fresh = app.test_client()
    assert _log_in(fresh, target_name, new_password).status_code == 401  # a disabled account cannot log in


def test_the_last_active_administrator_cannot_lock_everyone_out(client, database) -> None:
    token = act_as(client, database, Role.ADMIN)
    with database.session() as session:
        admin_id = session.scalar(select(User.id).where(User.role == "admin"))
    client.post(f"/admin/users/{admin_id}", data={"role": "officer", "active": "on", "csrf_token": token})
    client.post(f"/admin/users/{admin_id}", data={"role": "admin", "csrf_token": token})
    with database.session() as session:
        admin = session.get(User, admin_id)
        assert admin.role == "admin" and admin.active
    assert not _audit(database, "user_update")


def test_admin_registers_a_gate_rotates_its_key_and_takes_it_out_of_service(client, database, publisher) -> None:
    token = act_as(client, database, Role.ADMIN)
    gate = FakeGate("gt-adm01")
    registered = client.post("/admin/gates", data={"gate_id": "gt-adm01", "name": "Gate A1", "direction": "arrival",
                                                   "public_key": gate.key.public.b64, "csrf_token": token})
    assert registered.status_code == 201
    assert "topic write autogate/v1/gates/gt-adm01/events" in registered.get_data(as_text=True)
    again = client.post("/admin/gates", data={"gate_id": "gt-adm01", "direction": "arrival",
                                              "public_key": generate_keypair().public.b64, "csrf_token": token})
    assert again.status_code == 400 and "already registered" in again.get_data(as_text=True)
    ingest(database, gate.event(GateEvent(event="transaction_started", transaction_id="t1")))

    new_key = generate_keypair()
    rotated = client.post("/admin/gates/gt-adm01/key", data={"public_key": new_key.public.b64, "csrf_token": token})
    assert rotated.status_code == 302
    [entry] = _audit(database, "gate_key_rotate")
    assert entry.details["old_key"] != entry.details["new_key"]
    gate.key = new_key  # the gate now signs with its new key: accepted
    ingest(database, gate.event(GateEvent(event="transaction_started", transaction_id="t2")))
    with database.session() as session:
        assert session.get(Gate, "gt-adm01").public_key == new_key.public.b64
        assert len(session.scalars(select(GateMessage)).all()) == 2

    sent = client.post("/admin/gates/gt-adm01/service", data={"action": "out_of_service", "reason": "lane repair",
                                                              "csrf_token": token})
    assert sent.status_code == 302
    with database.session() as session:
        [command] = session.scalars(select(CommandRecord)).all()
        assert (command.action, command.status, command.reason) == ("out_of_service", "sent", "lane repair")
    assert publisher.sent[-1][0] == "autogate/v1/gates/gt-adm01/commands"
    page = client.get("/admin/gates/gt-adm01").get_data(as_text=True)
    assert 'id="last-command"' in page and "Out of service" in page and "sent, waiting for the gate" in page


def test_the_audit_log_page_filters_by_user_action_and_day(client, database) -> None:
    token = act_as(client, database, Role.ADMIN)
    client.post("/admin/users", data={"username": "budi", "role": "report_only", "csrf_token": token})
    client.post("/admin/users", data={"username": "sari", "role": "officer", "csrf_token": token})
    page = client.get("/admin/audit?action=user_create").get_data(as_text=True)
    assert page.count('data-action="user_create"') == 2 and "user:budi" in page and "WIB" in page
    assert 'data-action="user_create"' not in client.get("/admin/audit?action=login").get_data(as_text=True)
    assert client.get("/admin/audit?day=not-a-day").status_code == 400
    from central.timefmt import to_wib

    with database.session() as session:
        at = session.scalar(select(AuditEntry.at).where(AuditEntry.action == "user_create"))
    day = to_wib(at).date()
    assert 'data-action="user_create"' in client.get(f"/admin/audit?day={day.isoformat()}").get_data(as_text=True)
    other_day = (day.toordinal() + 1)
    from datetime import date as date_

    assert 'data-action="user_create"' not in client.get(
        f"/admin/audit?day={date_.fromordinal(other_day).isoformat()}").get_data(as_text=True)
    assert "user:sari" in client.get("/admin/audit?target=user:sari").get_data(as_text=True)
    assert "user:budi" not in client.get("/admin/audit?target=user:sari").get_data(as_text=True)


def test_a_second_user_field_from_another_area_appears_and_is_saved(app, client, database) -> None:
    """What the back-office helper needs for decree positions: one UserField, nothing else."""
    from central.views.admin import UserField, add_user_field

    saved: dict[int, list[str]] = {}

    def write(session, user, value):
        before = saved.get(user.id, [])
        saved[user.id] = list(value)
        return {} if before == list(value) else {"positions": list(value)}

    add_user_field(app, UserField("positions", "Positions", "multiselect", read=lambda u: saved.get(u.id, []),
                                  write=write, choices=lambda: [("kasi_tpi", "Kasi Unit TPI"),
                                                                ("petugas_tpi", "Petugas TPI")]))
    token = act_as(client, database, Role.ADMIN)
    with database.session() as session:
        admin_id = session.scalar(select(User.id).where(User.role == "admin"))
    assert 'name="positions"' in client.get(f"/admin/users/{admin_id}").get_data(as_text=True)
    client.post(f"/admin/users/{admin_id}", data={"role": "admin", "active": "on", "positions": ["kasi_tpi"],
                                                  "csrf_token": token})
    assert saved[admin_id] == ["kasi_tpi"]
    assert _audit(database, "user_update")[0].details == {"positions": ["kasi_tpi"]}
