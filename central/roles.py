"""Roles, and the decorators that put one on every view.

Every endpoint must declare who may use it: ``@role_required(...)``, ``@authenticated`` or
``@public``. The app refuses (403) any endpoint that declares nothing, so a new view cannot
be left open by forgetting a decorator; a test walks ``app.url_map`` to prove it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])

ROLES_ATTR = "autogate_roles"
PUBLIC = frozenset({"*public*"})


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"  # pengawas autogate
    CCTV_OPERATOR = "cctv_operator"  # petugas TPI at the face-recognition station
    OFFICER = "officer"  # counter officer (petugas konter)
    BACKOFFICE = "backoffice"
    REPORT_ONLY = "report_only"


ALL_ROLES = frozenset(Role)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def refuse(status: int, reason: str) -> Response:
    if wants_json():
        response = jsonify({"error": "unauthorized" if status == 401 else "forbidden", "reason": reason})
        response.status_code = status
        return response
    if status == 401:
        return redirect(url_for("auth.login", next=request.path))
    # Flask's response class: an HTML page, not werkzeug's text/plain default.
    return make_response(render_template("error.html", status=status, reason=reason), status)


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow only a logged-in user whose role is one of *roles*."""
    allowed = frozenset(Role(r) for r in roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return refuse(401, "login required")
            if user.role not in allowed:
                return refuse(403, "role")
            return view(*args, **kwargs)

        setattr(wrapped, ROLES_ATTR, allowed)
        return wrapped  # type: ignore[return-value]

    return decorate


def authenticated(view: F) -> F:
    """Any logged-in user, whatever the role."""
    return role_required(*ALL_ROLES)(view)


def public(view: F) -> F:
    """No login: only for the login page and the health check, which show nothing sensitive."""
    setattr(view, ROLES_ATTR, PUBLIC)
    return view


def declared_roles(view: Callable[..., Any]) -> frozenset[str] | None:
    return getattr(view, ROLES_ATTR, None)
