"""The Flask app factory. Tests and the CLI both call :func:`create_app`; there is no global app."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from flask import Flask, request
from werkzeug.wrappers import Response

from central import csrf, db
from central.errors import CommandNotSent, ConfigurationError, InvalidRequest, NotFound
from central.events import EventBus, default_bus
from central.ingest.metrics import IngestMetrics
from central.roles import declared_roles, refuse
from central.services.commands import Publisher
from central.services.users import AddressLimiter
from central.settings import CentralSettings
from protocol.keys import KeyPair, generate_keypair

log = logging.getLogger(__name__)

EXT_SETTINGS = "autogate.settings"
EXT_KEY = "autogate.central_key"
EXT_PUBLISHER = "autogate.publisher"
EXT_METRICS = "autogate.metrics"
EXT_INGEST_HEALTH = "autogate.ingest_health"
EXT_LIMITER = "autogate.login_limiter"
EXT_CLOCK = "autogate.clock"
EXT_BUS = "autogate.event_bus"

# Endpoints without a role decorator that are still safe to serve: Flask's static files.
_UNDECORATED_OK = frozenset({"static"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def load_central_key(settings: CentralSettings) -> KeyPair:
    if settings.central_key_file is not None:
        return KeyPair.load(settings.central_key_file)
    if not settings.demo_mode:
        # A tool's settings may omit the key (load_settings(signing_key=False)): never sign with
        # a throwaway key that no gate trusts.
        raise ConfigurationError("AUTOGATE_CENTRAL_CENTRAL_KEY_FILE must be set unless demo_mode")
    key = generate_keypair()
    log.warning("demo mode: central signing key generated for this run only (public %s)", key.public.b64)
    return key


def create_app(
    settings: CentralSettings | None = None,
    *,
    database: db.Database | None = None,
    central_key: KeyPair | None = None,
    publisher: Publisher | None = None,
    metrics: IngestMetrics | None = None,
    ingest_health: Callable[[], bool | str] | None = None,
    clock: Callable[[], float] = time.time,
    extensions: Sequence[Callable[[Flask], None]] = (),
    bus: EventBus | None = None,
) -> Flask:
    """Build the app. ``publisher`` sends commands to the broker (the ingest service in ``serve``);
    without one, commands are recorded and answered 503. ``metrics`` are the ingest counters.
    ``extensions`` are other areas' ``init_app`` functions (watchlists, ...), called last; their
    endpoints fall under the same deny-by-default role check and CSRF check."""
    settings = settings or CentralSettings()
    app = Flask(__name__, instance_relative_config=False)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    if secret is None:
        if not settings.demo_mode:  # a tool's settings (CentralToolSettings) may lack the secret
            raise ConfigurationError("AUTOGATE_CENTRAL_SECRET_KEY must be set (at least 32 characters) unless demo_mode")
        secret = secrets.token_urlsafe(48)
    app.config.from_mapping(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="autogate_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # one shift
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_SORT_KEYS=False,
    )
    from central.security import request_guard

    request_guard.init_app(app)  # first: the int converter must be in place before any route
    database = database or db.Database(settings.database_url)
    db.init_app(app, database)
    app.extensions[EXT_SETTINGS] = settings
    app.extensions[EXT_KEY] = central_key or load_central_key(settings)
    app.extensions[EXT_PUBLISHER] = publisher
    app.extensions[EXT_METRICS] = metrics or IngestMetrics()
    app.extensions[EXT_INGEST_HEALTH] = ingest_health
    app.extensions[EXT_CLOCK] = clock
    app.extensions[EXT_BUS] = bus or default_bus()  # what /console/stream listens on
    app.extensions[EXT_LIMITER] = AddressLimiter(settings.login_ip_max_failures, settings.login_lockout_s)
    from central import streams

    streams.init_app(app, streams.waitress_limit(settings.http))  # central/wsgi.py raises it under gevent

    from central import i18n, navigation, timefmt
    from central.views import account, admin, api, auth, console, health, reports

    app.before_request(auth.load_user)
    app.before_request(_enforce_declared_roles)
    account.init_app(app)  # after the role check: a reset password sends the user to change it
    csrf.init_app(app)
    app.after_request(_security_headers)
    app.register_blueprint(auth.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(reports.bp)
    from central.cases.views import init_app as init_cases  # escalation cases (issue 7)

    init_cases(app)
    admin.init_app(app)
    i18n.init_app(app)
    navigation.init_app(app)
    timefmt.init_app(app)
    app.register_error_handler(NotFound, lambda exc: _error(404, "not_found", str(exc)))
    app.register_error_handler(InvalidRequest, lambda exc: _error(400, "invalid", str(exc)))
    app.register_error_handler(CommandNotSent, lambda exc: _error(503, "not_sent", str(exc)))
    for init_extension in extensions:
        init_extension(app)
    from central.security import proxy, sessions

    sessions.init_app(app, secure=settings.secure_cookies, hsts_max_age_s=settings.hsts_max_age_s)
    proxy.init_app(app, settings.trusted_proxies, settings.proxy_hops)  # before lockout reads remote_addr
    return app


def _enforce_declared_roles() -> Response | None:
    """Deny by default: an endpoint that declares no roles is refused, never served."""
    if request.endpoint is None or request.endpoint in _UNDECORATED_OK:
        return None
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    if view is None or declared_roles(view) is None:
        log.error("endpoint %s declares no roles; refused", request.endpoint)
        return refuse(403, "undeclared")
    return None


def _error(status: int, code: str, text: str) -> Response:
    """JSON for the API and scripts, an HTML page (in the reader's language) for a person."""
    from flask import jsonify, make_response, render_template

    from central.roles import wants_json

    if not wants_json():
        return make_response(render_template("error.html", status=status, reason=text), status)
    response = jsonify({"error": code, "message": text})
    response.status_code = status
    return response


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
