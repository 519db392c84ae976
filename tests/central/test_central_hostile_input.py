"""Issue 18 item 4: no request gives a 500. Every route of the app as ``serve`` builds it, as every
role and anonymously, gets hostile values in every parameter and field it reads: NUL characters,
lone surrogates, 10,000-character strings, numbers beyond any database column, days at the ends of
the calendar, wrong JSON types and deeply nested JSON. Each must answer below 500 (a clear 400 or
404, 401/403 for a role that may not ask), never an internal error.

Which names a route reads is found three ways: the query/form keys the view actually looks up
(recorded through the request's parameter storage while the route runs), the fields of the
pydantic models and the ``.get("name")`` calls in the view's source, and a global list of every
such name in central, sent all at once."""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from central_support import CENTRAL_KEY, NOW_S, RecordingPublisher, act_as, demo_settings, make_database
from flask import Flask
from pydantic import BaseModel
from werkzeug.datastructures import ImmutableMultiDict

from central.app import create_app
from central.roles import Role

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, *[r.value for r in Role]]
CSRF = "t"

# Text values: what a query string or a form can carry.
TEXT_VALUES = {
    "nul": "a\x00b",
    "long": "x" * 10_000,
    "huge": str(10**20),
    "negative": str(-(10**20)),
    "first_day": "0001-01-01",
    "last_day": "9999-12-31",
}
# What only JSON can carry besides: a lone surrogate, big numbers and wrong types.
JSON_VALUES: dict[str, Any] = {
    **TEXT_VALUES,
    "surrogate": "\ud800x",
    "huge_number": 10**20,
    "huge_float": 1e308,
    "list": ["a\x00"],
    "object": {"a": "\ud800"},
    "true": True,
}
UNACCEPTABLE = {"nul", "surrogate", "list", "object"}  # these JSON values hold a NUL or a surrogate
DEEP_JSON = b"[" * 30_000 + b"]" * 30_000
DEEP_OBJECT = b'{"a":' * 5_000 + b"1" + b"}" * 5_000

_GET_NAME = re.compile(r"""\.get(?:list)?\(\s*["']([A-Za-z_][\w-]*)["']""")
_SUBSCRIPT = re.compile(r"""(?:form|args|body|data|payload)\[\s*["']([A-Za-z_][\w-]*)["']\s*\]""")
_MODEL_USE = re.compile(r"""\b([A-Z]\w+)\.model_validate|_parse\(\s*(?:[\w.]+\.)?([A-Z]\w+)""")


class _Recorder:
    """The query/form keys the running view reads, per endpoint."""

    endpoint: str | None = None
    seen: dict[str, set[str]] = defaultdict(set)

    @classmethod
    def note(cls, key: Any) -> None:
        if cls.endpoint is not None and isinstance(key, str):
            cls.seen[cls.endpoint].add(key)


class RecordingMultiDict(ImmutableMultiDict):
    def __getitem__(self, key: Any) -> Any:
        _Recorder.note(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002 - werkzeug's name
        _Recorder.note(key)
        return super().get(key, default, type)

    def getlist(self, key: Any, type: Any = None) -> Any:  # noqa: A002
        _Recorder.note(key)
        return super().getlist(key, type)

    def __contains__(self, key: object) -> bool:
        _Recorder.note(key)
        return super().__contains__(key)


def build_app(tmp_path: Path) -> Flask:
    from central.cctv.views import init_app as init_cctv
    from central.enrolments.views import init_app as init_enrolments
    from central.watchlists.views import init_app as init_watchlists

    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    database = make_database(url)

    app = create_app(
        demo_settings(url), database=database, central_key=CENTRAL_KEY, publisher=RecordingPublisher(),
        clock=lambda: NOW_S,
        extensions=[init_watchlists, init_enrolments, lambda a: init_cctv(a, engine_factory=object)],
    )

    class RecordingRequest(app.request_class):  # type: ignore[name-defined,misc]
        parameter_storage_class = RecordingMultiDict

    app.request_class = RecordingRequest
    return app


def _model_fields(model: Any) -> set[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        names = set(model.model_fields)
        for field in model.model_fields.values():
            names |= {a for a in [field.alias, field.validation_alias] if isinstance(a, str)}
        return names
    return set()


def names_in_source(view: Any) -> set[str]:
    """Names the view looks up in its own source, and the fields of the models it validates with."""
    view = inspect.unwrap(view)
    try:
        source = textwrap.dedent(inspect.getsource(view))
    except (OSError, TypeError):
        return set()
    names = set(_GET_NAME.findall(source)) | set(_SUBSCRIPT.findall(source))
    module_globals = getattr(view, "__globals__", {})
    for match in _MODEL_USE.finditer(source):
        names |= _model_fields(module_globals.get(match.group(1) or match.group(2)))
    return names


def all_names() -> set[str]:
    """Every name central's own code looks up in a request or declares in a boundary model."""
    import central

    root = Path(central.__file__).parent
    names: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "request" in text:
            names |= set(_GET_NAME.findall(text)) | set(_SUBSCRIPT.findall(text))
    stack = list(BaseModel.__subclasses__())
    while stack:  # the boundary models of every area (settings are not requests)
        model = stack.pop()
        stack.extend(model.__subclasses__())
        if model.__module__.startswith("central.") and "settings" not in model.__module__:
            names |= _model_fields(model)
    return names


def path_values(rule: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """The benign filling of the rule's arguments, then one hostile value in each argument."""
    benign = {}
    hostile: dict[str, list[str]] = {}
    for name, converter in rule._converters.items():
        if type(converter).__name__.endswith("IntegerConverter"):
            benign[name] = "1"
            hostile[name] = [str(10**23), str(2**31), str(2**63)]
        else:
            benign[name] = "x"
            hostile[name] = ["a%00b", "x" * 10_000, "0001-01-01", "9999-12-31", "%ED%A0%80"]
    yield "benign", benign
    for name, values in hostile.items():
        for value in values:
            yield f"{name}={value[:12]}", {**benign, name: value}


def build_url(rule: Any, values: dict[str, str]) -> str:
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", values[name], url)
    return url


def routes(app: Flask) -> list[tuple[Any, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    return sorted(found, key=lambda item: (item[0].rule, item[1]))


def client_as(app: Flask, role: str) -> Any:
    from central.db import get_database

    client = app.test_client()
    if role == ANONYMOUS:
        with client.session_transaction() as session:
            session["csrf_token"] = CSRF
        return client
    with app.app_context():
        database = get_database()
    token = act_as(client, database, role)
    with client.session_transaction() as session:
        session["csrf_token"] = CSRF
    assert token
    return client


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.requests = 0

    def check(self, client: Any, what: str, *, refused_up_front: bool = False, **kwargs: Any) -> int:
        """*refused_up_front*: the request carries what no field accepts (a NUL, a lone surrogate,
        JSON nested too deep): the guard must answer 400 before any view or role check, even on
        SQLite, which would store a NUL without complaint."""
        self.requests += 1
        response = client.open(**kwargs, headers={"X-CSRF-Token": CSRF, **kwargs.pop("headers", {})})
        status = response.status_code
        response.close()  # a server-sent-event stream is never read
        if status >= 500 and status != 503:
            self.items.append(f"{status} {what}")
        elif refused_up_front and status != 400:
            self.items.append(f"{status} (not 400) {what}")
        return status


def _exercise(app: Flask, failures: Failures, role: str, rule: Any, method: str, names: set[str],
              everything: set[str], *, refused: bool = False, paths: bool = True) -> None:
    client = client_as(app, role)
    has_body = method in ("POST", "PUT", "PATCH")
    _Recorder.endpoint = rule.endpoint
    for label, values in path_values(rule) if paths else ():
        url = build_url(rule, values)
        failures.check(client, f"{role} {method} {url[:80]} ({label})", path=url, method=method,
                       refused_up_front="%00" in label)
    url = build_url(rule, next(path_values(rule))[1])
    # Everything at once: every name central knows, each value in turn (10,000 characters only
    # one name at a time, below: 300 of them would be refused as too large before any check).
    for label, value in TEXT_VALUES.items() if everything else ():
        if label == "long" or (refused and label != "nul"):
            continue
        query = "&".join(f"{quote(n)}={quote(value)}" for n in sorted(everything))
        failures.check(client, f"{role} {method} {url} all query={label}", path=f"{url}?{query}", method=method,
                       refused_up_front=label == "nul")
        if has_body:
            form = {n: value for n in everything} | {"csrf_token": CSRF}
            failures.check(client, f"{role} {method} {url} all form={label}", path=url, method=method, data=form,
                           refused_up_front=label == "nul")
    if has_body and not refused and everything:
        for label, body in (("deep array", DEEP_JSON), ("deep object", DEEP_OBJECT), ("infinite", b"{\"a\": 1e400}")):
            failures.check(client, f"{role} {method} {url} json {label}", path=url, method=method, data=body,
                           content_type="application/json", refused_up_front=True)
        for label, body in (("truncated", b'{"a": '), ("not json", b"\xff\xfe"), ("a list", b"[1, 2]")):
            failures.check(client, f"{role} {method} {url} json {label}", path=url, method=method, data=body,
                           content_type="application/json")
        for label, value in JSON_VALUES.items():
            body = json.dumps({n: value for n in everything}, ensure_ascii=True)
            failures.check(client, f"{role} {method} {url} all json={label}", path=url, method=method, data=body,
                           content_type="application/json", refused_up_front=label in UNACCEPTABLE)
    # One name at a time, the others absent: a view that refuses the first bad field still meets each.
    for name in sorted(names):
        for label, value in TEXT_VALUES.items():
            failures.check(client, f"{role} {method} {url} query {name}={label}",
                           path=f"{url}?{quote(name)}={quote(value)}", method=method, refused_up_front=label == "nul")
            if has_body:
                failures.check(client, f"{role} {method} {url} form {name}={label}", path=url, method=method,
                               data={name: value, "csrf_token": CSRF}, refused_up_front=label == "nul")
        if has_body:
            for label, value in JSON_VALUES.items():
                failures.check(client, f"{role} {method} {url} json {name}={label}", path=url, method=method,
                               data=json.dumps({name: value}, ensure_ascii=True), content_type="application/json",
                               refused_up_front=label in UNACCEPTABLE)
    _Recorder.endpoint = None


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_500_to_hostile_input(tmp_path, role: str) -> None:
    """One role per test (each a few thousand requests), every route."""
    app = build_app(tmp_path)
    everything = all_names()
    assert {"next", "username", "password", "offset", "gate_id", "day", "date_from"} <= everything
    failures = Failures()
    all_routes = routes(app)
    assert len(all_routes) > 90  # the app as serve builds it
    for rule, method in all_routes:
        allowed = getattr(app.view_functions[rule.endpoint], "autogate_roles", frozenset())
        may = "*public*" in allowed or role in allowed
        # A role refused before the view runs meets the path and the all-at-once values only.
        names = names_in_source(app.view_functions[rule.endpoint]) if may else set()
        _exercise(app, failures, role, rule, method, names, everything, refused=not may)
        if may:  # the keys the view was seen reading, each on its own
            extra = _Recorder.seen.get(rule.endpoint, set()) - names
            if extra:
                _exercise(app, failures, role, rule, method, extra, set(), paths=False)
    print(f"{role}: {failures.requests} hostile requests")
    assert failures.requests > 500
    assert failures.items == [], f"{len(failures.items)} of {failures.requests} requests failed:\n" + "\n".join(failures.items)
