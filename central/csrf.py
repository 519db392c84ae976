"""CSRF protection for every state-changing request, forms and JSON alike.

Each session holds a random token. A POST/PUT/PATCH/DELETE must echo it, in the form field
``csrf_token`` or the ``X-CSRF-Token`` header (the console's fetch calls), or it is refused
with 403 before any view runs. Together with SameSite cookies this stops cross-site posts. An
endpoint that authenticates every request by signature (a provider webhook) is marked ``exempt``.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from typing import Any

from flask import Flask, current_app, request, session
from werkzeug.wrappers import Response

from central.roles import refuse

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's token, created on first use."""
    token = session.get(FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return str(token)


def rotate() -> str:
    session[FIELD] = secrets.token_urlsafe(32)
    return str(session[FIELD])


EXEMPT_ATTR = "autogate_csrf_exempt"


def exempt(view: Any) -> Any:
    """For an endpoint that authenticates each request itself (a provider's HMAC-signed webhook):
    no browser session, so no CSRF token to carry."""
    setattr(view, EXEMPT_ATTR, True)
    return view


def _check() -> Response | None:
    if request.method in SAFE_METHODS:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, EXEMPT_ATTR, False):
        return None
    expected = session.get(FIELD)
    sent = request.headers.get(HEADER) or request.form.get(FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        log.warning("csrf: refused %s %s from %s", request.method, request.path, request.remote_addr)
        return refuse(403, "csrf")
    return None


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
