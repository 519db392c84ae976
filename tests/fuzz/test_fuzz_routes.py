"""Fuzzing central's HTTP surface: every route of the app as ``serve`` builds it (web pages, the
JSON API and the other areas' blueprints), as every role and anonymously, with generated path
values, query strings, form fields and JSON bodies. No answer may be a 5xx (503 excepted: the
answer of a feature this app was not configured for).

The route list comes from ``app.url_map``, so a new route is fuzzed the day it is added. The
OpenAPI document (``/api/v1/openapi.json``) covers only ``/api/v1``; its query models name the
parameters the API takes, and they are used here with the parameter names the views read.

Generated values include NUL and control characters and numbers far beyond the database's
integers (issue 18 item 4, fixed by websafe; its repros are pinned at the end). Lone surrogates
are left out because the test client cannot encode them; websafe's own tests send those raw.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date

import pytest
from central_support import CENTRAL_KEY, act_as, demo_settings, make_database
from flask import Flask
from fuzz_support import fuzz
from hypothesis import given
from hypothesis import strategies as st

from central.app import create_app
from central.roles import Role
from central.services import gates

POSTGRES_URL = os.environ.get("AUTOGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PARAMS = sorted(set(
    "action agency answer applicant_name birth_date camera candidates channel confirm_password day decision "
    "direction document_number document_numbers document_type email entry_id expiry_date file flight format from "
    "gate gate_id given_names id issuing_state key lang level limit list message_id name nationality new_password "
    "next note offset open page passport_number password phone position public_key q question reason reference "
    "replace role sex status surname text to transaction_id user user_id username watchlist workflow".split()
))
ROLES: list[str | None] = [None, *Role]

# Any text but lone surrogates (the test client cannot encode them; websafe's tests send them raw).
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.just("a\x00b")
small_int = st.integers(min_value=-5, max_value=2**31 - 1) | st.integers(min_value=2**31, max_value=10**25)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)).map(date.isoformat)
value = st.one_of(text, small_int.map(str), dates, st.sampled_from(["", "0", "-1", "true", "arrival", "gate-fz",
                                                                   "supervisor", "2026-01-01", "csv", "json"]))
json_value = st.recursive(st.none() | st.booleans() | small_int | text,
                          lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(PARAMS), c, max_size=4),
                          max_leaves=12)
path_value = {"int": st.integers(min_value=0, max_value=10**25).map(str),
              "string": st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), max_codepoint=127),
                                min_size=1, max_size=24) | st.just("gate-fz")}
_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@contextmanager
def _database_url(kind: str, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """SQLite, or a fresh schema in PostgreSQL (which, unlike SQLite, enforces varchar lengths and
    integer ranges and refuses NUL: the 500s of item 4 show there)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'central.db'}"
        return
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("AUTOGATE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL: {exc}")
        pytest.skip(f"PostgreSQL: {exc}")
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def served(request, tmp_path_factory) -> Iterator[tuple[Flask, dict]]:
    from central.cctv.views import init_app as init_cctv
    from central.enrolments.views import init_app as init_enrolments
    from central.watchlists.views import init_app as init_watchlists

    stack = ExitStack()
    url = stack.enter_context(_database_url(request.param, tmp_path_factory))
    database = make_database(url)
    app = create_app(demo_settings(url), database=database, central_key=CENTRAL_KEY,
                     extensions=[init_watchlists, init_enrolments, init_cctv])
    with database.session() as session:
        gates.add_gate(session, "gate-fz", public_key_b64=CENTRAL_KEY.public.b64, direction="arrival", name="fuzz")
        session.commit()
    clients = {}
    for role in ROLES:
        client = app.test_client()
        if role:
            token = act_as(client, database, role)
        else:  # anonymous: the login page hands out the CSRF token
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        clients[role] = (client, token)
    routes = [(rule.rule, method, rule.endpoint) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
              if rule.endpoint not in ("console.stream", "auth.logout")]  # a stream never ends; logout ends the session
    yield app, {"clients": clients, "routes": routes, "kind": request.param}
    database.dispose()
    stack.close()


def _url(rule: str, draw) -> str:  # type: ignore[no-untyped-def]
    def fill(match: re.Match) -> str:
        return draw(path_value.get(match.group(1) or "string", path_value["string"]))
    return _ARG.sub(fill, rule)


@st.composite
def requests(draw, routes):  # type: ignore[no-untyped-def]
    rule, method, endpoint = draw(st.sampled_from(routes))
    query = draw(st.dictionaries(st.sampled_from(PARAMS), value, max_size=4))
    body_kind = draw(st.sampled_from(["none", "form", "json"])) if method != "GET" else "none"
    body = draw(st.dictionaries(st.sampled_from(PARAMS), value, max_size=6)) if body_kind == "form" else (
        draw(json_value) if body_kind == "json" else None)
    return method, _url(rule, draw), endpoint, query, body_kind, body


def _fire(served, role, request) -> int:  # type: ignore[no-untyped-def]
    _app, world = served
    client, token = world["clients"][role]
    method, url, _endpoint, query, kind, body = request
    kwargs: dict = {"query_string": query, "headers": {"X-CSRF-Token": token}}
    if kind == "form":
        kwargs["data"] = {**body, "csrf_token": token}
    elif kind == "json":
        kwargs["json"] = body
    response = client.open(url, method=method, **kwargs)
    return response.status_code


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_every_route_as_every_role_answers_without_a_server_error(served, role) -> None:
    @fuzz(15)
    @given(st.data())
    def run(data) -> None:  # type: ignore[no-untyped-def]
        request = data.draw(requests(served[1]["routes"]))
        status = _fire(served, role, request)
        # 503 is a deliberate answer: a feature not configured here (the SMS gateway's secret,
        # the command publisher) says so; 500 and every other 5xx is a bug
        assert status < 500 or status == 503, (role, request[:3], status)

    run()


def test_every_route_is_reached_by_the_fuzzer(served) -> None:
    """The routes list is not empty or accidentally filtered: it holds the API and the web pages."""
    endpoints = {endpoint for _r, _m, endpoint in served[1]["routes"]}
    assert {"api.search_crossings", "cases.new", "admin.users", "auth.login"} <= endpoints
    assert len(endpoints) > 60


# -- issue 18 item 4 (fixed by websafe): were 500s, pinned here as regressions ---------------------


def _status(served, role, method, url, **kwargs) -> int:  # type: ignore[no-untyped-def]
    client, token = served[1]["clients"][role]
    kwargs.setdefault("headers", {"X-CSRF-Token": token})
    if "data" in kwargs:
        kwargs["data"] = {**kwargs["data"], "csrf_token": token}
    return client.open(url, method=method, **kwargs).status_code


def test_nul_byte_in_login_is_a_clear_error(served) -> None:
    assert _status(served, None, "POST", "/login", data={"username": "a\x00b", "password": "x"}) < 500


def test_nul_byte_in_a_query_is_a_clear_error(served) -> None:
    assert _status(served, Role.SUPERVISOR, "GET", "/api/v1/crossings", query_string={"document_number": "A\x00"}) < 500


def test_huge_offset_is_a_clear_error(served) -> None:
    assert _status(served, Role.SUPERVISOR, "GET", "/api/v1/crossings", query_string={"offset": str(10**20)}) < 500


def test_huge_case_id_is_a_clear_error(served) -> None:
    assert _status(served, Role.SUPERVISOR, "GET", f"/cases/{10**23}") < 500
