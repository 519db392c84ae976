"""Every registered route names its roles, and refuses every other role and anonymous users.

Walks ``app.url_map``, so a route added later without a decorator (or with a wider one than
intended) fails here instead of shipping open.
"""

from __future__ import annotations

import pytest
from central_support import CENTRAL_KEY, act_as, demo_settings
from flask import Blueprint, Flask

from central.roles import ALL_ROLES, PUBLIC, Role, declared_roles

REPORTS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE, Role.REPORT_ONLY})
CASE_WORK = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE, Role.CCTV_OPERATOR})

# The intended policy, written down independently of the decorators: a change to who may do
# what must change this table too.
EXPECTED: dict[str, frozenset[str]] = {
    "auth.login": PUBLIC,
    "health.healthz": PUBLIC,
    "auth.logout": frozenset(ALL_ROLES),
    "auth.index": frozenset(ALL_ROLES),
    "api.me": frozenset(ALL_ROLES),
    "console.page": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    "console.live": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    "console.acknowledge_alert": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    "api.list_gates": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE}),
    "api.get_gate": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE}),
    "api.search_crossings": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE}),
    "api.list_alerts": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER}),
    "api.acknowledge_alert": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    "api.issue_command": frozenset({Role.SUPERVISOR}),
    "api.list_commands": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    "api.metrics": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    "api.stats": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE, Role.REPORT_ONLY}),
    "api.audit_log": frozenset({Role.ADMIN}),
    # Live console push, reports, API description, language choice.
    "console.stream": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    "api.gate_faces": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    "api.daily_report": REPORTS,
    "api.gate_stats": REPORTS,
    "reports.daily_page": REPORTS,
    "reports.gates_page": REPORTS,
    "reports.crossings_page": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OFFICER, Role.BACKOFFICE}),
    "api.openapi": frozenset(ALL_ROLES),
    "i18n.choose_language": PUBLIC,
    # Escalation cases: everyone reads the list (report_only: the list only); the workflow
    # roles work them, and each step's own roles are checked again by the workflow engine.
    "cases.index": frozenset(ALL_ROLES),
    "cases.stylesheet": frozenset(ALL_ROLES),
    "cases_api.api_list": frozenset(ALL_ROLES),
    "cases.detail": CASE_WORK,
    "cases.new": CASE_WORK,
    "cases.complete": CASE_WORK,
    "cases.document": CASE_WORK,
    "cases_api.api_detail": CASE_WORK,
    "cases_api.api_complete": CASE_WORK,
    # The back office (issue 21): positions decide the steps; roles only open the pages.
    "cases.capture": CASE_WORK,
    "cases.capture_script": frozenset(ALL_ROLES),
    "cases.follow_up": CASE_WORK,
    "cases_api.api_open": CASE_WORK,
    "work.home": frozenset(ALL_ROLES),
    "work.read_notifications": frozenset(ALL_ROLES),
    "work.admin": frozenset({Role.ADMIN}),
    "work.set_positions": frozenset({Role.ADMIN}),
    "work.add_holiday": frozenset({Role.ADMIN}),
    "work.remove_holiday": frozenset({Role.ADMIN}),
    "work.decide_proposal": CASE_WORK,
    "sla.page": REPORTS,
    "sla.csv_export": REPORTS,
    # The public: an application's status by its unguessable number, the receptionist, and the
    # SMS/WhatsApp provider's webhook (each call HMAC-signed, tested in tests/cases).
    "public.status_page": PUBLIC,
    "public.receptionist": PUBLIC,
    "public.receptionist_call": PUBLIC,
    "public.receptionist_node": PUBLIC,
    "public.receptionist_press": PUBLIC,
    "public.gateway_message": PUBLIC,
    "public.gateway_receipt": PUBLIC,
    # Administration: administrators only. One's own password: everyone.
    "account.password": frozenset(ALL_ROLES),
    "admin.users": frozenset({Role.ADMIN}),
    "admin.create_user": frozenset({Role.ADMIN}),
    "admin.user": frozenset({Role.ADMIN}),
    "admin.update_user": frozenset({Role.ADMIN}),
    "admin.reset_password": frozenset({Role.ADMIN}),
    "admin.gates": frozenset({Role.ADMIN}),
    "admin.register_gate": frozenset({Role.ADMIN}),
    "admin.gate": frozenset({Role.ADMIN}),
    "admin.rotate_key": frozenset({Role.ADMIN}),
    "admin.service": frozenset({Role.ADMIN}),
    "admin.audit": frozenset({Role.ADMIN}),
}


def _routes(app: Flask):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: (1 if "int" in str(rule._converters.get(arg, "")).lower() else "gt-x") for arg in rule.arguments}
        url = rule.rule
        for arg, value in values.items():
            url = url.replace(f"<int:{arg}>", str(value)).replace(f"<{arg}>", str(value))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_endpoint_declares_exactly_the_intended_roles(app: Flask) -> None:
    declared = {
        endpoint: declared_roles(view) for endpoint, view in app.view_functions.items() if endpoint != "static"
    }
    assert declared == EXPECTED


def test_every_route_refuses_every_role_it_does_not_allow(app: Flask, database) -> None:
    checked = 0
    for role in Role:
        client = app.test_client()
        token = act_as(client, database, role)
        for endpoint, method, url in _routes(app):
            allowed = EXPECTED[endpoint]
            if allowed == PUBLIC or role in allowed:
                continue
            response = client.open(url, method=method, headers={"X-CSRF-Token": token}, json={})
            assert response.status_code == 403, (role, method, url, response.status_code)
            checked += 1
    assert checked > 30


# Resetting a password revokes that user's sessions (issue 18 item 6), and user 1 is the one
# acting here: like logout, it would end the session the rest of the walk runs on.
SESSION_ENDING = {"auth.logout", "admin.reset_password"}


def test_allowed_roles_get_past_the_role_check(app: Flask, database) -> None:
    for role in Role:
        client = app.test_client()
        token = act_as(client, database, role)
        for endpoint, method, url in _routes(app):
            if role not in EXPECTED[endpoint] or endpoint in SESSION_ENDING:
                continue
            response = client.open(url, method=method, headers={"X-CSRF-Token": token}, json={})
            assert response.status_code != 403, (role, method, url)


def test_anonymous_users_are_refused_everywhere_but_login_and_health(app: Flask) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    for endpoint, method, url in _routes(app):
        if EXPECTED[endpoint] == PUBLIC:
            continue
        response = client.open(url, method=method, headers={"X-CSRF-Token": "t"})
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url)
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)


def test_an_endpoint_without_a_role_decorator_is_refused(app: Flask, database) -> None:
    """Deny by default: forgetting the decorator must not leave a page open."""
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    app.register_blueprint(extra)
    client = app.test_client()
    act_as(client, database, Role.ADMIN)
    assert client.get("/forgotten").status_code == 403


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR])
def test_a_changed_role_ends_the_session(app: Flask, database, role: Role) -> None:
    from central.models import User

    client = app.test_client()
    act_as(client, database, role)
    with client.session_transaction() as session:
        user_id = session["user_id"]
    with database.session() as s:
        s.get(User, user_id).role = Role.REPORT_ONLY.value
        s.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_other_areas_blueprints_declare_roles_too(database, sqlite_url) -> None:
    """The app as ``serve`` builds it, with the watchlist area: no endpoint without roles, and
    none answers an anonymous user."""
    from central.app import create_app
    from central.watchlists.views import init_app as init_watchlists

    app = create_app(demo_settings(sqlite_url), database=database, central_key=CENTRAL_KEY, extensions=[init_watchlists])
    foreign = [e for e in app.view_functions if e != "static" and e not in EXPECTED]
    assert foreign, "the watchlist area registered no endpoints"
    assert all(declared_roles(app.view_functions[e]) is not None for e in foreign)
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    for endpoint, method, url in _routes(app):
        if endpoint in foreign and declared_roles(app.view_functions[endpoint]) != PUBLIC:
            assert client.open(url, method=method, headers={"X-CSRF-Token": "t"}).status_code in (302, 401), url
