"""Login, logout and the landing page."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from central import csrf
from central.i18n import SESSION_KEY as LANGUAGE_KEY
from central.i18n import gettext as _
from central.db import get_session
from central.models import User
from central.roles import Role, authenticated, public
from central.security import sessions
from central.security.redirects import redirect_back
from central.services import audit
from central.services.users import LoginResult, authenticate
from central.views.common import actor, extension

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

# Whose home is the console: the supervisor's whole shift is there. Everyone else lands on the
# home page, which lists the pages their role may open.
CONSOLE_ROLES = {Role.SUPERVISOR}


def load_user() -> None:
    """Put the logged-in, still active user on ``g`` (or None)."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = get_session().get(User, user_id)
    if user is None or not user.active or session.get("role") != user.role or not sessions.is_current(session, user):
        session.clear()  # deactivated, role changed, or the session was revoked: log in again
        return
    g.user = user


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str:
    from central.app import EXT_LIMITER, EXT_SETTINGS

    if request.method == "GET":
        csrf.csrf_token()
        return render_template("login.html")
    settings = extension(EXT_SETTINGS)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    db_session = get_session()
    attempt = authenticate(
        db_session,
        username,
        password,
        address=request.remote_addr or "?",
        limiter=extension(EXT_LIMITER),
        max_failures=settings.login_max_failures,
        lockout=timedelta(seconds=settings.login_lockout_s),
    )
    if attempt.result is not LoginResult.OK or attempt.user is None:
        audit.record(
            db_session,
            audit.Actor(username or None, attempt.user.role if attempt.user else None, request.remote_addr),
            "login_failed",
            f"user:{username}",
            {"result": attempt.result.value},
        )
        db_session.commit()
        status = 429 if attempt.result is LoginResult.RATE_LIMITED else 401
        flash(_("Too many attempts; wait and try again.") if status == 429 else _("Wrong username or password."))
        return Response(render_template("login.html"), status=status)
    user = attempt.user
    language = session.get(LANGUAGE_KEY)  # chosen on the login page: a display preference, kept
    session.clear()  # a fresh session on login: no fixation
    if language:
        session[LANGUAGE_KEY] = language
    session.permanent = True
    session["user_id"] = user.id
    session["role"] = user.role
    sessions.stamp(session, user)
    csrf.rotate()
    g.user = user
    audit.record(db_session, actor(), "login", f"user:{user.username}")
    db_session.commit()
    return redirect_back(request.args.get("next"))  # never off-site


@bp.route("/logout", methods=["POST"])
@authenticated
def logout() -> Response:
    db_session = get_session()
    audit.record(db_session, actor(), "logout", f"user:{g.user.username}")
    sessions.revoke_all(g.user, "logout")  # a copy of the cookie must not outlive the logout
    db_session.commit()
    language = session.get(LANGUAGE_KEY)
    session.clear()
    if language:
        session[LANGUAGE_KEY] = language
    return redirect(url_for("auth.login"))


@bp.route("/")
@authenticated
def index() -> Response | str:
    if g.user.role in CONSOLE_ROLES:
        return redirect(url_for("console.page"))
    if g.user.role == Role.CCTV_OPERATOR and "cctv.queue" in current_app.view_functions:
        return redirect(url_for("cctv.queue"))  # the operator's station is the alarm queue
    return render_template("home.html")
