"""The officer's own account: change the password, and the forced change after a reset.

After an administrator resets a password (``users.reset_password``), the user may open nothing
but this page (and log out) until they have chosen a new one.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, flash, g, jsonify, redirect, render_template, request, url_for
from flask import session as flask_session
from werkzeug.wrappers import Response

from central.db import get_session
from central.errors import InvalidRequest
from central.i18n import gettext as _
from central.roles import authenticated, wants_json
from central.security import sessions
from central.services import audit, users
from central.views.common import actor

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")

# What a user who must change their password may still reach.
_OPEN_DURING_CHANGE = frozenset({"account.password", "auth.logout", "auth.login", "static", "i18n.choose_language"})


@bp.route("/password", methods=["GET", "POST"])
@authenticated
def password() -> Response | str | tuple[str, int]:
    user = g.user
    if request.method == "GET":
        return render_template("account/password.html")
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        flash(_("The two new passwords differ."))
        return render_template("account/password.html"), 400
    session = get_session()
    try:
        users.change_password(user, request.form.get("current_password", "")[:1024], new[:1024])
    except InvalidRequest as exc:
        session.rollback()
        flash(_("Password not changed: {why}", why=_(str(exc))))
        return render_template("account/password.html"), 400
    audit.record(session, actor(), "password_change", f"user:{user.username}")
    session.commit()
    sessions.stamp(flask_session, user)  # every other session ended with the change; this one goes on
    flash(_("Your password has been changed."))
    return redirect(url_for("auth.index"))


def enforce_password_change() -> Response | None:
    """Before every request: a user whose password was reset goes to the change page first."""
    user = g.get("user")
    if user is None or not user.must_change_password:
        return None
    g.password_change_required = True
    if request.endpoint in _OPEN_DURING_CHANGE:
        return None
    if wants_json():
        response = jsonify({"error": "forbidden", "reason": "password change required"})
        response.status_code = 403
        return response
    return redirect(url_for("account.password"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(enforce_password_change)
