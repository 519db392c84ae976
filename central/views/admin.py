"""Administration in the browser: users, gates and the audit log (administrators only).

Every change is audited in the same transaction. A user's editable fields are data
(:data:`USER_FIELDS`): another area adds one (``add_user_field(app, UserField(...))``) and the
list, the edit form and the audit entry pick it up. A generated password is shown once, on the
page that answers the POST (never flashed: the session cookie is signed, not encrypted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from flask import session as flask_session
from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from central.db import get_session
from central.errors import CommandNotSent, InvalidRequest
from central.i18n import gettext as _
from central.models import User
from central.roles import Role, role_required
from central.security import sessions
from central.services import audit, commands, gates, users
from central.services.stats import WIB
from central.views.common import actor, extension, now_ms
from central.security.limits import Day

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

EXT_USER_FIELDS = "autogate.admin.user_fields"
AUDIT_PAGE = 100


# ------------------------------------------------------------------ user fields, as data


@dataclass(frozen=True)
class UserField:
    """One editable property of an account.

    :param name: the form field's name.
    :param label: English, translated when shown.
    :param kind: ``select`` (one of ``choices``), ``multiselect`` or ``checkbox``.
    :param choices: (value, English label) pairs, computed when the form is drawn.
    :param read: the user's current value (a string, a list of strings, or a bool).
    :param write: apply a parsed value; raises ``InvalidRequest``; returns what changed, for the
        audit entry (empty: nothing did).
    """

    name: str
    label: str
    kind: Literal["select", "multiselect", "checkbox"]
    read: Callable[[User], Any]
    write: Callable[[Session, User, Any], dict[str, Any]]
    choices: Callable[[], list[tuple[str, str]]] = field(default=lambda: [])
    on_create: bool = True  # also asked when the account is created


def _write_role(session: Session, user: User, value: Any) -> dict[str, Any]:
    try:
        role = Role(str(value)).value
    except ValueError as exc:
        raise InvalidRequest(f"unknown role {value!r}") from exc
    if role == user.role:
        return {}
    if user.role == Role.ADMIN and _is_last_admin(session, user):
        raise InvalidRequest("the last active administrator keeps the administrator role")
    old, user.role = user.role, role
    return {"role": [old, role]}


def _write_active(session: Session, user: User, value: Any) -> dict[str, Any]:
    active = bool(value)
    if active == user.active:
        return {}
    if not active and user.role == Role.ADMIN and _is_last_admin(session, user):
        raise InvalidRequest("the last active administrator cannot be disabled")
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    else:
        sessions.revoke_all(user, "account disabled")
    return {"active": active}


def _is_last_admin(session: Session, user: User) -> bool:
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id))
    return not others


USER_FIELDS: tuple[UserField, ...] = (
    UserField("role", "Role", "select", read=lambda u: u.role, write=_write_role,
              choices=lambda: [(r.value, f"role.{r.value}") for r in Role]),
    UserField("active", "Account active", "checkbox", read=lambda u: bool(u.active), write=_write_active,
              on_create=False),
)


def add_user_field(app: Flask, user_field: UserField) -> None:
    """Another area's account property (e.g. decree positions) on the user pages."""
    fields = app.extensions.setdefault(EXT_USER_FIELDS, list(USER_FIELDS))
    if all(f.name != user_field.name for f in fields):
        fields.append(user_field)


def user_fields() -> list[UserField]:
    return list(current_app.extensions.get(EXT_USER_FIELDS, USER_FIELDS))


def _form_value(user_field: UserField) -> Any:
    if user_field.kind == "checkbox":
        return request.form.get(user_field.name) == "on"
    if user_field.kind == "multiselect":
        return request.form.getlist(user_field.name)
    return request.form.get(user_field.name, "")


def _apply_fields(session: Session, user: User, fields: list[UserField]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for user_field in fields:
        changes.update(user_field.write(session, user, _form_value(user_field)))
    return changes


# ------------------------------------------------------------------ users


@bp.route("/users", endpoint="users")
@role_required(Role.ADMIN)
def users_page() -> str:
    return _users_page()


def _users_page(status: int = 200, **context: Any) -> Any:
    session = get_session()
    page = render_template("admin/users.html", users=users.list_users(session), fields=user_fields(),
                           roles=[r.value for r in Role], **context)
    return (page, status) if status != 200 else page


@bp.route("/users", methods=["POST"])
@role_required(Role.ADMIN)
def create_user() -> Any:
    session = get_session()
    username = request.form.get("username", "").strip()
    password = users.generate_password()
    try:
        user = users.create_user(session, username, request.form.get("role", ""), password)
        user.must_change_password = True
        session.flush()
        extra = _apply_fields(session, user, [f for f in user_fields() if f.on_create and f.name != "role"])
    except InvalidRequest as exc:
        session.rollback()
        flash(_("User not created: {why}", why=str(exc)))
        return _users_page(400)
    audit.record(session, actor(), "user_create", f"user:{user.username}", {"role": user.role, **extra})
    session.commit()
    log.info("admin %s created user %s (%s)", g.user.username, user.username, user.role)
    return _users_page(201, handed_password=(user.username, password))


@bp.route("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user(user_id: int) -> str:
    session = get_session()
    target = users.get_user(session, user_id)
    history = audit.search(session, target=f"user:{target.username}", limit=20)
    return render_template("admin/user.html", user=target, fields=user_fields(), history=history,
                           roles=[r.value for r in Role])


@bp.route("/users/<int:user_id>", methods=["POST"])
@role_required(Role.ADMIN)
def update_user(user_id: int) -> Any:
    session = get_session()
    target = users.get_user(session, user_id)
    try:
        changes = _apply_fields(session, target, user_fields())
    except InvalidRequest as exc:
        session.rollback()
        flash(_("Not saved: {why}", why=_(str(exc))))
        return redirect(url_for("admin.user", user_id=user_id))
    if changes:
        audit.record(session, actor(), "user_update", f"user:{target.username}", changes)
        session.commit()
        flash(_("Saved."))
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required(Role.ADMIN)
def reset_password(user_id: int) -> str:
    session = get_session()
    target = users.get_user(session, user_id)
    password = users.reset_password(target)
    audit.record(session, actor(), "user_password_reset", f"user:{target.username}")
    session.commit()
    if target.id == g.user.id:  # one's own reset: every other session ends, this one goes on
        sessions.stamp(flask_session, target)
    history = audit.search(session, target=f"user:{target.username}", limit=20)
    return render_template("admin/user.html", user=target, fields=user_fields(), history=history,
                           roles=[r.value for r in Role], handed_password=(target.username, password))


# ------------------------------------------------------------------ gates


class GateForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    gate_id: Annotated[str, Field(min_length=1, max_length=63)]
    name: Annotated[str, Field(max_length=120)] = ""
    direction: Literal["departure", "arrival"]
    public_key: Annotated[str, Field(min_length=40, max_length=64)]


def _gates_page(status: int = 200, **context: Any) -> Any:
    from central.views.console import console_gate_views

    session = get_session()
    now = now_ms()
    listed = gates.list_gates(session)
    rows = list(zip(listed, console_gate_views(session, listed, now), strict=True))
    page = render_template("admin/gates.html", rows=rows, fingerprint=gates.key_fingerprint, **context)
    return (page, status) if status != 200 else page


@bp.route("/gates", endpoint="gates")
@role_required(Role.ADMIN)
def gates_page() -> Any:
    return _gates_page()


@bp.route("/gates", methods=["POST"])
@role_required(Role.ADMIN)
def register_gate() -> Any:
    from protocol.topics import gate_acl

    session = get_session()
    try:
        form = GateForm.model_validate(request.form.to_dict())
        gate = gates.register_gate(session, form.gate_id, public_key_b64=form.public_key, direction=form.direction,
                                   name=form.name)
    except ValidationError as exc:
        first = exc.errors()[0]
        flash(_("Gate not registered: {why}", why=f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
        return _gates_page(400, form=request.form)
    except InvalidRequest as exc:
        session.rollback()
        flash(_("Gate not registered: {why}", why=str(exc)))
        return _gates_page(400, form=request.form)
    audit.record(session, actor(), "gate_add", f"gate:{gate.id}",
                 {"direction": gate.direction, "key": gates.key_fingerprint(gate.public_key)})
    session.commit()
    return _gates_page(201, registered=gate.id, acl=gate_acl(gate.id))


@bp.route("/gates/<gate_id>")
@role_required(Role.ADMIN)
def gate(gate_id: str) -> str:
    from central.views.console import console_gate_view

    session = get_session()
    row = gates.get_gate(session, gate_id)
    history = audit.search(session, target=f"gate:{gate_id}", limit=20)
    return render_template("admin/gate.html", gate=row, view=console_gate_view(row, now_ms(), session),
                           history=history, fingerprint=gates.key_fingerprint)


@bp.route("/gates/<gate_id>/key", methods=["POST"])
@role_required(Role.ADMIN)
def rotate_key(gate_id: str) -> Response:
    session = get_session()
    try:
        old, new = gates.rotate_key(session, gate_id, request.form.get("public_key", "").strip())
    except InvalidRequest as exc:
        session.rollback()
        flash(_("Key not changed: {why}", why=str(exc)))
        return redirect(url_for("admin.gate", gate_id=gate_id))
    audit.record(session, actor(), "gate_key_rotate", f"gate:{gate_id}", {"old_key": old, "new_key": new})
    session.commit()
    flash(_("Key changed: the gate must sign with its new private key from now on."))
    return redirect(url_for("admin.gate", gate_id=gate_id))


@bp.route("/gates/<gate_id>/service", methods=["POST"])
@role_required(Role.ADMIN)
def service(gate_id: str) -> Response:
    """Take a gate out of service, or back, with a signed command (the gate refuses while a
    traveller is inside; its answer shows on this page)."""
    from central.app import EXT_KEY, EXT_PUBLISHER, EXT_SETTINGS

    action = request.form.get("action", "")
    if action not in ("out_of_service", "back_in_service"):
        raise InvalidRequest("action must be out_of_service or back_in_service")
    session = get_session()
    gates.get_gate(session, gate_id)
    try:
        commands.issue_command(
            session, key=extension(EXT_KEY), publisher=extension(EXT_PUBLISHER), gate_id=gate_id, action=action,
            reason=request.form.get("reason", ""), actor=actor(), now_ms=now_ms(),
            ttl_s=extension(EXT_SETTINGS).command_ttl_s)
        flash(_("Sent to the gate; its answer appears below."))
    except CommandNotSent:
        flash(_("Not sent: central has no broker connection."))
    except InvalidRequest as exc:
        flash(_("Not sent: {why}", why=_(str(exc))))
    return redirect(url_for("admin.gate", gate_id=gate_id))


# ------------------------------------------------------------------ audit log


class AuditFilter(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    username: Annotated[str, Field(max_length=64)] | None = None
    action: Annotated[str, Field(max_length=64)] | None = None
    target: Annotated[str, Field(max_length=200)] | None = None
    day: Day | None = None  # a WIB day
    page: Annotated[int, Field(ge=1, le=10_000)] = 1


@bp.route("/audit", endpoint="audit")
@role_required(Role.ADMIN)
def audit_page() -> Any:
    session = get_session()
    values = {k: v for k, v in request.args.items() if v.strip()}
    try:
        query = AuditFilter.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        flash(_("Invalid search") + f": {'.'.join(map(str, first['loc']))}: {first['msg']}")
        query, status = AuditFilter(), 400
    else:
        status = 200
    since = until = None
    if query.day is not None:
        start = datetime.combine(query.day, time.min, WIB).astimezone(UTC)  # SQLite compares as stored: UTC
        since, until = start, start + timedelta(days=1)
    entries = audit.search(session, username=query.username, action=query.action, target=query.target, since=since,
                           until=until, limit=AUDIT_PAGE + 1, offset=(query.page - 1) * AUDIT_PAGE)
    page = render_template("admin/audit.html", entries=entries[:AUDIT_PAGE], more=len(entries) > AUDIT_PAGE,
                           query=query, values=values, actions=audit.actions(session))
    return (page, status) if status != 200 else page


def init_app(app: Flask) -> None:
    app.extensions.setdefault(EXT_USER_FIELDS, list(USER_FIELDS))
    app.register_blueprint(bp)
