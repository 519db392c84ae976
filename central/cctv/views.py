"""The CCTV pages and API: the operator's live alarm queue (/cctv), watchlist photos, cameras.

    /cctv                                   live queue (cctv_operator; supervisors and admins watch)
    /cctv/stream                            server-sent events: each alarm as ingest commits it
    /cctv/watchlist/<entry>                 the photos of one watchlist entry (supervisor, admin)
    /api/v1/cctv/alarms[/<id>]              the queue as JSON (no pictures)
    /api/v1/cctv/alarms/<id>/pictures       the alarm's pictures beside the watchlist faces (audited)
    /api/v1/cctv/alarms/<id>/ack|confirm|dismiss
    /api/v1/cctv/cameras                    camera nodes and their health
    /api/v1/cctv/watchlist/<entry>/faces    list (GET) or enrol a photo (POST, multipart ``photo``)

A view parses, calls ``alarms`` or ``faces``, commits, and then publishes (the face list after a
photo change, the person flags after a confirmation) when a publisher is configured: a broker
outage never loses a change, it delays publication (the CCTV monitor retries).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from central.cctv import alarms, cameras, faces, publisher
from central.cctv.errors import AlarmDecisionRefused, PhotoRejected
from central.cctv.models import CctvAlarmRecord
from central.db import Database, get_database, get_session
from central.errors import CentralError, InvalidRequest
from central.events import EventBus
from central.models import from_ms
from central.navigation import NavEntry, add_entry
from central.roles import Role, role_required
from central.settings import CctvSettings
from central.views.common import actor, extension, now_ms
from central.views.console import sse_frame
from central.watchlists.errors import EntryNotFound
from central.watchlists.models import WatchlistEntryRow

log = logging.getLogger(__name__)

EXT = "autogate.cctv"
WATCH = (Role.CCTV_OPERATOR, Role.SUPERVISOR, Role.ADMIN)
OPERATE = (Role.CCTV_OPERATOR, Role.SUPERVISOR)  # petugas TPI; the Kasi / supervisor on duty too
MANAGE = (Role.ADMIN, Role.SUPERVISOR)  # who may change the watchlist, its photos included
STATIC = Path(__file__).with_name("static")
HEARTBEAT_S = 15.0
STREAM_MAX_S = 300.0
RESYNC_MS = 30_000

page = Blueprint("cctv", __name__, url_prefix="/cctv", template_folder="templates")
api = Blueprint("cctv_api", __name__, url_prefix="/api/v1/cctv")

PublishFn = Callable[[str, bytes, bool], None]


@dataclass
class CctvExtension:
    """Per-app state: settings, the broker publish function, and the face engine (built on first
    use: a central that never enrols a photo never loads onnxruntime)."""

    settings: CctvSettings
    publish: PublishFn | None = None
    engine_factory: Callable[[], Any] | None = None
    _engine: Any = field(default=None, repr=False)

    @property
    def engine(self) -> Any:
        if self._engine is None:
            if self.engine_factory is not None:
                self._engine = self.engine_factory()
            else:
                from edge.face import FaceEngine

                self._engine = FaceEngine.from_models(embedder_model=self.settings.face_embedder)
        return self._engine

    @property
    def model(self) -> str:
        return self.engine.model_tag if self._engine is not None or self.engine_factory else faces.model_tag_for(self.settings)


def init_app(app: Flask, *, publish: PublishFn | None = None, engine_factory: Callable[[], Any] | None = None) -> None:
    """Register the pages and the API. *publish* sends to the broker; without it changes are
    stored and versioned, and published by ``autogate watchlist faces publish`` or the monitor."""
    import central.cctv.models  # noqa: F401  (the tables join Base.metadata)
    from central.app import EXT_SETTINGS

    app.extensions[EXT] = CctvExtension(app.extensions[EXT_SETTINGS].cctv, publish, engine_factory)
    app.register_blueprint(page)
    app.register_blueprint(api)
    add_entry(app, NavEntry("cctv.queue", "CCTV alarms", frozenset(WATCH), order=15,
                            description="Face-recognition alarms from the checkpoint cameras (SOP it-05)",
                            also=("cctv.faces_page",)))
    # For the watchlist page's link to an entry's photos.
    app.jinja_env.globals["cctv_faces_link"] = lambda entry_id: url_for("cctv.faces_page", entry_id=entry_id)


def _ext() -> CctvExtension:
    return extension(EXT)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.form:
        body = request.form.to_dict()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidRequest("expected a JSON object")
    return body


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


# ------------------------------------------------------------------ publication after a change


def publish_face_list(session: Session, ext: CctvExtension) -> bool | None:
    """Publish the newest face list; False (logged) if the broker did not take it, None if no publisher."""
    from central.app import EXT_KEY

    if ext.publish is None:
        return None
    try:
        publisher.publish_current(session, key=current_app.extensions[EXT_KEY], publish=ext.publish,
                                  now_ms=now_ms(), model=ext.model)
        session.commit()
        return True
    except CentralError as exc:
        session.rollback()
        log.error("face list stored but not published: %s", exc)
        return False


def publish_flags(session: Session, ext: CctvExtension) -> bool | None:
    from central.app import EXT_KEY

    if ext.publish is None:
        return None
    try:
        publisher.publish_flags(session, key=current_app.extensions[EXT_KEY], publish=ext.publish, now_ms=now_ms())
        return True
    except CentralError as exc:
        log.error("person flags stored but not published: %s", exc)
        return False


# ------------------------------------------------------------------ the operator's page


@page.route("")
@role_required(*WATCH)
def queue() -> str:
    from central.i18n import current_language, strings_for

    return render_template(
        "cctv/queue.html", resync_ms=RESYNC_MS, can_decide=g.user.role in OPERATE,
        script_strings=json.dumps(strings_for(SCRIPT_STRINGS, current_language())).replace("</", "<\\/"),
    )


@page.route("/cctv.js")
@role_required(*WATCH)
def script() -> Response:
    # Served by the blueprint: the app's deny-by-default check only lets the app's own static through.
    return Response((STATIC / "cctv.js").read_text(encoding="utf-8"), mimetype="text/javascript")


@page.route("/cctv.css")
@role_required(*WATCH, *MANAGE)
def stylesheet() -> Response:
    return Response((STATIC / "cctv.css").read_text(encoding="utf-8"), mimetype="text/css")


def stream_frames(database: Database, subscription: Any, *, heartbeat_s: float = HEARTBEAT_S,
                  max_s: float = STREAM_MAX_S) -> Iterator[str]:
    """``alarm`` events, each the alarm's queue view, as ingest commits them."""
    try:
        yield "retry: 2000\n: connected\n\n"
        deadline = time.monotonic() + max_s
        while time.monotonic() < deadline:
            notice = subscription.get(heartbeat_s)
            if subscription.closed:
                return
            if notice is None:
                yield ": ping\n\n"
                continue
            if notice.channel != "cctv" or notice.message_id is None:
                continue
            with database.session() as session:
                row = session.scalar(select(CctvAlarmRecord).where(CctvAlarmRecord.message_id == notice.message_id))
                frame = sse_frame("alarm", alarms.alarm_view(session, row)) if row and row.status in alarms.VISIBLE else None
            if frame:
                yield frame
    finally:
        subscription.close()


@page.route("/stream")
@role_required(*WATCH)
def stream() -> Response:
    from central.app import EXT_BUS

    from central import streams

    release = streams.slots().take()  # one waitress thread per open stream: bounded
    if release is None:
        return streams.refuse()
    bus: EventBus = extension(EXT_BUS)
    subscription = bus.subscribe()
    response = Response(stream_frames(get_database(), subscription), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(subscription.close)
    response.call_on_close(release)
    return response


# ------------------------------------------------------------------ the queue API


@api.route("/alarms")
@role_required(*WATCH)
def list_alarms() -> Response:
    status = request.args.get("status", "pending")
    statuses = alarms.VISIBLE if status == "all" else tuple(s for s in status.split(",") if s in alarms.VISIBLE)
    if not statuses:
        raise InvalidRequest(f"status: one of {', '.join(alarms.VISIBLE)} or all")
    try:
        limit = max(1, min(200, int(request.args.get("limit", "50"))))
    except ValueError as exc:
        raise InvalidRequest("limit: a number") from exc
    session = get_session()
    rows = alarms.list_alarms(session, alarms.AlarmQuery(statuses=statuses, camera=request.args.get("camera") or None,
                                                         limit=limit))
    return jsonify({"now_ms": now_ms(), "alarms": [alarms.alarm_view(session, r) for r in rows],
                    "cameras": [cameras.camera_view(c) for c in cameras.list_cameras(session)]})


@api.route("/alarms/<int:alarm_id>")
@role_required(*WATCH)
def get_alarm(alarm_id: int) -> Response:
    session = get_session()
    return jsonify(alarms.alarm_view(session, alarms.get_alarm(session, alarm_id)))


@api.route("/alarms/<int:alarm_id>/pictures")
@role_required(*WATCH)
def pictures(alarm_id: int) -> Response:
    session = get_session()
    view = alarms.view_pictures(session, alarm_id, actor(), _ext().settings, from_ms(now_ms()))
    session.commit()  # the audit entry of this view (and the purge before it)
    return jsonify(view)


@api.route("/alarms/<int:alarm_id>/ack", methods=["POST"])
@role_required(*OPERATE)
def acknowledge(alarm_id: int) -> Response:
    session = get_session()
    row = alarms.acknowledge(session, alarm_id, actor(), from_ms(now_ms()))
    session.commit()
    return jsonify(alarms.alarm_view(session, row))


@api.route("/alarms/<int:alarm_id>/confirm", methods=["POST"])
@role_required(*OPERATE)
def confirm(alarm_id: int) -> Response:
    from central.app import EXT_BUS
    from central.events import Notice

    body = _body()
    ext = _ext()
    session = get_session()
    done = alarms.confirm(session, alarm_id, actor(), now_ms=now_ms(), settings=ext.settings,
                          note=str(body.get("note", ""))[:2000], flag_gates=_flag(body.get("flag_gates"), False),
                          flag_console=_flag(body.get("flag_console"), True))
    session.commit()
    if done.alert is not None:  # the supervisors' console hears it like any alert
        extension(EXT_BUS).publish(Notice(done.alarm.camera_id, "cctv", done.alarm.message_id, "confirmed"))
    published = publish_flags(session, ext) if done.flag is not None else None
    view = alarms.alarm_view(session, done.alarm)
    view["case_url"] = url_for("cases.detail", case_id=done.case_id)
    view["flags_published"] = published
    return jsonify(view)


@api.route("/alarms/<int:alarm_id>/dismiss", methods=["POST"])
@role_required(*OPERATE)
def dismiss(alarm_id: int) -> Response:
    body = _body()
    session = get_session()
    row = alarms.dismiss(session, alarm_id, actor(), now=from_ms(now_ms()), settings=_ext().settings,
                         reason=str(body.get("reason", ""))[:2000])
    session.commit()
    return jsonify(alarms.alarm_view(session, row))


@api.route("/cameras")
@role_required(*WATCH)
def list_cameras() -> Response:
    return jsonify({"cameras": [cameras.camera_view(c) for c in cameras.list_cameras(get_session())]})


@api.errorhandler(AlarmDecisionRefused)
def _refused(exc: AlarmDecisionRefused) -> Response:
    response = jsonify({"error": "refused", "message": str(exc)})
    response.status_code = 409
    return response


# ------------------------------------------------------------------ watchlist photos


def _entry_or_404(session: Session, entry_id: str) -> WatchlistEntryRow:
    entry = session.get(WatchlistEntryRow, entry_id)
    if entry is None:
        raise EntryNotFound(f"no watchlist entry {entry_id!r}")
    return entry


def _enrol_from_request(session: Session, entry_id: str) -> tuple[Any, int | None]:
    """The uploaded photo (multipart ``photo``, or the raw body) enrolled, and the new version."""
    ext = _ext()
    request.max_content_length = faces.MAX_PHOTO_BYTES + 64 * 1024
    upload = request.files.get("photo")
    data = upload.read() if upload is not None else request.get_data()
    source = (upload.filename if upload is not None and upload.filename else "upload")[:100]
    allow = _flag(request.form.get("allow_quality") or request.args.get("allow_quality"), False)
    row = faces.enrol_photo(session, ext.engine, entry_id, data, actor(), settings=ext.settings,
                            source=f"upload:{source}", allow_quality=allow)
    version = faces.commit_version(session, actor(), f"photo {row.id} on {entry_id}", settings=ext.settings,
                                   model=ext.model)
    return row, version


@api.route("/watchlist/<entry_id>/faces")
@role_required(*MANAGE)
def entry_faces(entry_id: str) -> Response:
    session = get_session()
    _entry_or_404(session, entry_id)
    return jsonify({"entry_id": entry_id, "faces": [faces.template_view(t) for t in faces.templates_of(session, entry_id)],
                    "face_list_version": faces.current_version(session)})


@api.route("/watchlist/<entry_id>/faces", methods=["POST"])
@role_required(*MANAGE)
def enrol_face(entry_id: str) -> tuple[Response, int]:
    session = get_session()
    try:
        row, version = _enrol_from_request(session, entry_id)
    except PhotoRejected as exc:
        session.rollback()
        response = jsonify({"error": "photo_rejected", "message": str(exc), "reasons": list(exc.reasons)})
        return response, 422
    session.commit()
    view = faces.template_view(row)
    view["face_list_version"] = version
    view["published"] = publish_face_list(session, _ext())
    return jsonify(view), 201


@api.route("/watchlist/faces/<template_id>/remove", methods=["POST"])
@role_required(*MANAGE)
def remove_face(template_id: str) -> Response:
    session = get_session()
    row = faces.remove_template(session, template_id, actor(), str(_body().get("reason", "")))
    version = faces.commit_version(session, actor(), f"remove photo {template_id}", settings=_ext().settings,
                                   model=_ext().model)
    session.commit()
    return jsonify({**faces.template_view(row), "face_list_version": version,
                    "published": publish_face_list(session, _ext())})


@api.route("/face-list/versions")
@role_required(*MANAGE)
def face_list_versions() -> Response:
    session = get_session()
    return jsonify({"current": faces.current_version(session),
                    "versions": [faces.version_view(v) for v in faces.list_versions(session)]})


@page.route("/watchlist/<entry_id>")
@role_required(*MANAGE)
def faces_page(entry_id: str) -> str:
    session = get_session()
    entry = _entry_or_404(session, entry_id)
    rows = faces.templates_of(session, entry_id)
    shown = [(faces.template_view(r), _reference_url(r.reference_jpeg)) for r in rows]
    if any(url for _, url in shown):
        from central.services import audit

        audit.record(session, actor(), "face_reference_view", f"watchlist:{entry_id}", {"faces": len(shown)})
        session.commit()
    watchlist_url = url_for("watchlist.index") if "watchlist.index" in current_app.view_functions else None
    return render_template("cctv/faces.html", entry=entry, faces=shown, settings=_ext().settings,
                           version=faces.current_version(session), watchlist_url=watchlist_url)


def _reference_url(jpeg: bytes | None) -> str | None:
    import base64

    return None if not jpeg else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


@page.route("/watchlist/<entry_id>/photos", methods=["POST"])
@role_required(*MANAGE)
def upload_form(entry_id: str) -> Response:
    session = get_session()
    try:
        row, version = _enrol_from_request(session, entry_id)
        session.commit()
        published = publish_face_list(session, _ext())
        flash(f"Photo enrolled (template {row.id[:8]}): face list version {version}"
              + ("" if published is not False else "; not yet published to the cameras (broker unreachable)") + ".")
    except PhotoRejected as exc:
        session.rollback()
        flash(f"Photo not enrolled: {exc}.")
    return redirect(url_for("cctv.faces_page", entry_id=entry_id))


@page.route("/watchlist/photos/<template_id>/remove", methods=["POST"])
@role_required(*MANAGE)
def remove_form(template_id: str) -> Response:
    session = get_session()
    row = faces.remove_template(session, template_id, actor(), request.form.get("reason", ""))
    faces.commit_version(session, actor(), f"remove photo {template_id}", settings=_ext().settings, model=_ext().model)
    session.commit()
    publish_face_list(session, _ext())
    flash(f"Photo {template_id[:8]} removed from {row.entry_id}.")
    return redirect(url_for("cctv.faces_page", entry_id=row.entry_id))


# Strings the operator's script shows (translated like the console's).
SCRIPT_STRINGS = (
    "Acknowledge", "Confirm", "Dismiss: not this person", "Alarm sounding", "Click anywhere to allow the alarm sound",
    "Mute sound", "Unmute sound", "Live", "Reconnecting…", "Score", "threshold", "Camera", "Seen", "List",
    "Watchlist photo", "Captured face", "Scene", "Track", "frame", "No picture (deleted after retention)",
    "Flag to every gate", "Alert the supervisors' console", "Note", "Reason", "it-05 case", "Open the case",
    "Time in step", "of", "Confirmed by", "Dismissed by", "No alarm waiting.", "Candidates", "Documents",
    "Born", "Nationality", "Agency", "Entry", "Step", "Refused", "No watchlist photo kept",
)
