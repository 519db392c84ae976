"""Watchlist management over HTTP: the JSON API under ``/api/v1/watchlist`` and the ``/watchlist`` page.

Supervisors and admins manage entries; officers read; other roles see nothing. State changes
pass central's CSRF check like every other form and fetch call. A view parses, calls
``service``, commits, and then publishes the new version when a publisher is configured: a
broker outage never loses a change, it only delays publication (``publish`` retries it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.wrappers import Response

from central.db import get_session
from central.errors import CentralError, ImportRejected, InvalidRequest
from central.roles import Role, role_required
from central.views.common import actor, now_ms
from central.watchlists import csvimport, publisher, service
from central.watchlists.errors import VersionConflict
from central.security.limits import Offset
from edge.watchlist.model import LIST_NAMES

log = logging.getLogger(__name__)

EXT_PUBLISH = "autogate.watchlist_publish"
MANAGE = (Role.ADMIN, Role.SUPERVISOR)
READ = (*MANAGE, Role.OFFICER)
MAX_CSV_BYTES = 200 * 1024  # the app caps request bodies at 256 KiB; bigger files go via the CLI

api = Blueprint("watchlist_api", __name__, url_prefix="/api/v1/watchlist")
page = Blueprint("watchlist", __name__, url_prefix="/watchlist", template_folder="templates")


def init_app(app: Flask, *, publish: publisher.PublishFn | None = None) -> None:
    """Register both blueprints. *publish* sends to the broker (``publisher.paho_publisher``);
    without it changes are stored and versioned but published only by ``autogate watchlist publish``."""
    import central.watchlists.models  # noqa: F401  (the tables join Base.metadata)

    app.extensions[EXT_PUBLISH] = publish
    app.register_blueprint(api)
    app.register_blueprint(page)


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, Field(max_length=100)] = ""
    list: Annotated[str, Field(max_length=32)] | None = None
    inactive: bool = False
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Offset = 0


def _parse_query(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequest(f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}") from exc


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("expected a JSON object")
    return body


def _publish_after_change(version: int | None) -> bool | None:
    """Publish the new version; False (logged) if the broker did not take it, None if no publisher."""
    publish: Callable[..., None] | None = current_app.extensions.get(EXT_PUBLISH)
    if version is None or publish is None:
        return None
    from central.app import EXT_KEY

    session = get_session()
    try:
        publisher.publish_current(session, key=current_app.extensions[EXT_KEY], publish=publish, now_ms=now_ms())
        session.commit()
        return True
    except CentralError as exc:
        session.rollback()
        log.error("watchlist version %d stored but not published: %s", version, exc)
        return False


def _result(result: service.ChangeResult) -> dict[str, Any]:
    return {
        "version": result.version, "added": list(result.added), "updated": list(result.updated),
        "removed": list(result.removed), "unchanged": result.unchanged,
        "published": _publish_after_change(result.version),
    }


@api.errorhandler(ImportRejected)
def _import_rejected(exc: ImportRejected) -> Response:
    response = jsonify({
        "error": "invalid", "message": str(exc),
        "rows": [{"row": r, "column": c, "message": m} for r, c, m in exc.errors],
    })
    response.status_code = 400
    return response


@api.errorhandler(VersionConflict)
def _version_conflict(exc: VersionConflict) -> Response:
    response = jsonify({"error": "conflict", "message": str(exc)})
    response.status_code = 409
    return response


# ------------------------------------------------------------------------------ JSON API


@api.route("")
@role_required(*READ)
def list_entries() -> Response:
    query = _parse_query(SearchQuery, request.args.to_dict())
    rows = service.search_entries(
        get_session(), text=query.q, list_name=query.list, include_inactive=query.inactive,
        limit=query.limit, offset=query.offset,
    )
    return jsonify({"entries": [service.entry_view(r) for r in rows], "version": service.current_version(get_session())})


@api.route("/<entry_id>")
@role_required(*READ)
def get_entry(entry_id: str) -> Response:
    return jsonify(service.entry_view(service.get_row(get_session(), entry_id)))


@api.route("", methods=["POST"])
@role_required(*MANAGE)
def create_entry() -> tuple[Response, int]:
    session = get_session()
    result = service.add_entry(session, service.build_entry(_json_body()), actor())
    session.commit()
    return jsonify(_result(result)), 201


@api.route("/<entry_id>", methods=["PATCH"])
@role_required(*MANAGE)
def update_entry(entry_id: str) -> Response:
    session = get_session()
    result = service.update_entry(session, entry_id, _json_body(), actor())
    session.commit()
    return jsonify(_result(result))


@api.route("/<entry_id>/deactivate", methods=["POST"])
@role_required(*MANAGE)
def deactivate_entry(entry_id: str) -> Response:
    body = request.get_json(silent=True) or {}
    reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
    session = get_session()
    result = service.deactivate_entry(session, entry_id, actor(), reason)
    session.commit()
    return jsonify(_result(result))


@api.route("/import", methods=["POST"])
@role_required(*MANAGE)
def import_csv() -> Response:
    """CSV as a multipart ``file`` field or as the raw body (``text/csv``); ``?replace=1``."""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    source = (upload.filename if upload is not None and upload.filename else "upload.csv")[:100]
    text = _decode_csv(data)
    replace = request.args.get("replace", request.form.get("replace", "")) in ("1", "true", "yes", "on")
    session = get_session()
    try:
        result = csvimport.import_csv(session, text, actor(), source=source, replace=replace)
    except ImportRejected:
        session.commit()  # the rejection itself is audited
        raise
    session.commit()
    return jsonify(_result(result))


@api.route("/versions")
@role_required(*READ)
def versions() -> Response:
    rows = service.list_versions(get_session())
    return jsonify({"current": service.current_version(get_session()), "versions": [service.version_view(v) for v in rows]})


def _decode_csv(data: bytes) -> str:
    if not data:
        raise InvalidRequest("no CSV file sent")
    if len(data) > MAX_CSV_BYTES:
        raise InvalidRequest(f"CSV over {MAX_CSV_BYTES // 1024} KiB: use `autogate watchlist import`")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("CSV is not UTF-8") from exc


# ------------------------------------------------------------------------------ HTML page


@page.route("")
@role_required(*READ)
def index() -> str:
    query = _parse_query(SearchQuery, request.args.to_dict())
    session = get_session()
    rows = service.search_entries(session, text=query.q, list_name=query.list, limit=query.limit, offset=query.offset)
    from flask import g

    return render_template(
        "watchlists/page.html", entries=[service.entry_view(r) for r in rows], query=query, lists=LIST_NAMES,
        version=service.current_version(session), can_manage=g.user.role in MANAGE,
    )


@page.route("/add", methods=["POST"])
@role_required(*MANAGE)
def add_form() -> Response:
    fields = {k: request.form.get(k, "") for k in service.EDITABLE_FIELDS if k in request.form}
    session = get_session()
    try:
        result = service.add_entry(session, service.build_entry(fields), actor())
        session.commit()
        _publish_after_change(result.version)
        flash(f"Entry {result.added[0]} added: watchlist version {result.version}.")
    except InvalidRequest as exc:
        session.rollback()
        flash(f"Not added: {exc}")
    return redirect(url_for("watchlist.index"))


@page.route("/import", methods=["POST"])
@role_required(*MANAGE)
def import_form() -> Response:
    upload = request.files.get("file")
    session = get_session()
    try:
        text = _decode_csv(upload.read() if upload is not None else b"")
        result = csvimport.import_csv(
            session, text, actor(), source=(upload.filename or "upload.csv")[:100] if upload else "upload.csv",
            replace=request.form.get("replace") in ("1", "on"),
        )
        session.commit()
        _publish_after_change(result.version)
        flash(f"Imported: {len(result.added)} added, {len(result.updated)} updated, {len(result.removed)} "
              f"deactivated, {result.unchanged} unchanged; version {result.version or service.current_version(session)}.")
    except ImportRejected as exc:
        session.commit()
        flash(f"Nothing imported: {len(exc.errors)} error(s).")
        for row, column, message in exc.errors[:20]:
            flash(f"row {row}, column {column}: {message}")
    except InvalidRequest as exc:
        session.rollback()
        flash(f"Nothing imported: {exc}")
    return redirect(url_for("watchlist.index"))


@page.route("/<entry_id>/deactivate", methods=["POST"])
@role_required(*MANAGE)
def deactivate_form(entry_id: str) -> Response:
    session = get_session()
    result = service.deactivate_entry(session, entry_id, actor(), request.form.get("reason", ""))
    session.commit()
    _publish_after_change(result.version)
    flash(f"Entry {entry_id} deactivated." if result.version else f"Entry {entry_id} was already inactive.")
    return redirect(url_for("watchlist.index"))
