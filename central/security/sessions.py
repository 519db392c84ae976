"""Server-side session revocation and the cookie/transport settings of a production deployment.

Flask's session is a signed cookie: the server keeps nothing, so a cookie captured before logout
would stay valid until it expires. Each user row carries a ``session_generation``; the cookie
records the generation it was issued under, and a cookie whose generation is no longer the
user's is refused. Logout, a password change (own or an administrator's reset) and disabling
the account bump the generation, which ends every session of that user at once.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from flask import Flask
from werkzeug.wrappers import Response

from central.models import User

log = logging.getLogger(__name__)

GENERATION_KEY = "session_generation"


def stamp(session: MutableMapping[str, Any], user: User) -> None:
    """Mark a freshly issued session with the user's current generation."""
    session[GENERATION_KEY] = user.session_generation or 0


def is_current(session: MutableMapping[str, Any], user: User) -> bool:
    # A cookie issued before this check existed carries no generation: it counts as the first.
    return bool(session.get(GENERATION_KEY, 0) == (user.session_generation or 0))


def revoke_all(user: User, why: str) -> None:
    """End every session of *user* (the caller commits)."""
    user.session_generation = (user.session_generation or 0) + 1
    log.info("sessions of %s revoked (%s)", user.username, why)


def _strict_transport(max_age_s: int) -> Any:
    value = f"max-age={max_age_s}; includeSubDomains"

    def add_header(response: Response) -> Response:
        response.headers.setdefault("Strict-Transport-Security", value)
        return response

    return add_header


def init_app(app: Flask, *, secure: bool, hsts_max_age_s: int) -> None:
    """Secure cookies and HSTS go together: both say "this site is served over HTTPS only"."""
    app.config["SESSION_COOKIE_SECURE"] = secure
    if secure and hsts_max_age_s > 0:
        app.after_request(_strict_transport(hsts_max_age_s))
