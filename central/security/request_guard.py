"""Refuse hostile input before any view sees it: a clear 400 and a log line, never a 500.

Checked up front for every request (issue 18): no NUL character and no lone UTF-16 surrogate in
the path, the query, form fields, uploaded file names or a JSON body (PostgreSQL refuses NUL in
text, and a surrogate cannot be encoded to UTF-8); a JSON body nested at most ``MAX_JSON_DEPTH``
deep (``json.loads`` of 30,000 ``[`` raises RecursionError, which ``get_json(silent=True)`` does
not catch), with no integer a database column could not hold and no NaN/Infinity. ``<int:...>`` in
a route only matches ids a database INTEGER can hold (larger ones are 404, like any missing id),
and a value the database refuses all the same (too long for its column on PostgreSQL) is a 400.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

from flask import Flask, request
from sqlalchemy.exc import DataError
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from central.security.limits import DB_BIGINT_MAX, DB_INT_MAX

log = logging.getLogger(__name__)

MAX_JSON_DEPTH = 32
MAX_KEY_LENGTH = 200
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_TEXT_BODIES = ("text/", "application/csv")


class HostileInput(ValueError):
    """The request holds something no field of ours accepts."""


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:...>`` bounded to a database INTEGER: ``/cases/10**23`` is a 404, not an overflow."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 - werkzeug's names
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=DB_INT_MAX if max is None else max, signed=signed)


def _check_text(where: str, value: str) -> None:
    found = _FORBIDDEN.search(value)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate (not valid Unicode)"
        raise HostileInput(f"{where} holds {what}")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets nest deeper than *limit*, counted outside strings without parsing."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def check_json_value(value: Any, where: str = "body") -> None:
    if isinstance(value, str):
        _check_text(where, value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > DB_BIGINT_MAX:
            raise HostileInput(f"{where}: number out of range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise HostileInput(f"{where}: not a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(f"{where}: a key", key)
            if len(key) > MAX_KEY_LENGTH:
                raise HostileInput(f"{where}: a key is too long")
            check_json_value(item, f"{where}.{key[:40]}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_value(item, f"{where}[{index}]")


def check_request() -> None:
    """Raise HostileInput for the first hostile value of the current request."""
    _check_text("the path", request.path)
    for key, values in request.args.lists():
        _check_text("a query parameter name", key)
        for value in values:
            _check_text(f"query parameter {key[:40]!r}", value)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.form.lists():
            _check_text("a form field name", key)
            for value in values:
                _check_text(f"form field {key[:40]!r}", value)
        for key, upload in request.files.items(multi=True):
            _check_text(f"the file name of {key[:40]!r}", upload.filename or "")
    elif request.is_json:
        body = request.get_data(cache=True)
        if body.strip():
            if json_depth_exceeds(body):
                raise HostileInput(f"JSON body nested deeper than {MAX_JSON_DEPTH}")
            try:
                parsed = json.loads(body)
            except RecursionError as exc:  # cannot happen below the depth bound; refused all the same
                raise HostileInput("JSON body nested too deep") from exc
            except ValueError:
                return  # not JSON at all: each view says what it expected (get_json(silent=True))
            check_json_value(parsed)
    elif request.mimetype.startswith(_TEXT_BODIES):
        if b"\x00" in request.get_data(cache=True):
            raise HostileInput("the request body holds a NUL character")


def _guard() -> Response | None:
    try:
        check_request()
    except HostileInput as exc:
        log.warning("request refused: %s %s from %s: %s", request.method, request.path[:200], request.remote_addr, exc)
        return _refuse(str(exc))
    return None


def _refuse(reason: str) -> Response:
    from central.app import _error

    return _error(400, "invalid", reason)


def _database_refused(exc: DataError) -> Response:
    """The database refused a value (too long for its column, out of its range): the request's fault."""
    from central.db import get_session

    get_session().rollback()
    log.warning("request refused by the database: %s %s: %s", request.method, request.path[:200],
                str(exc.orig).splitlines()[0][:200] if exc.orig else type(exc).__name__)
    return _refuse("a value is too long or out of range")


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: routes pick their converters when added."""
    app.url_map.converters["int"] = DatabaseIntegerConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _guard)  # before the user is even loaded
    app.register_error_handler(DataError, _database_refused)
