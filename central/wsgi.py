"""Central's web side as a WSGI application for gunicorn: stateless web workers.

    gunicorn -c python:central.gunicorn_conf 'central.wsgi:create_application()'

(``make serve``; docs/central.md "Deployment"). Each gunicorn worker process calls
:func:`create_application` once, after gunicorn's gevent worker has patched the standard
library, so an open console stream is a greenlet waiting on the bus, not a thread: 200 open
consoles cost 200 sockets, and every page and ``/healthz`` still answers at once.

A worker runs no ingest: ingest runs apart (``autogate central ingest``, as many as the broker's
shared subscription allows), and its notices reach every worker's consoles over the bus between
processes (central/buses.py; PostgreSQL LISTEN/NOTIFY by default). Commands go out through the
worker's own broker client (central/publisher.py). Nothing lives in a worker's memory that
another worker needs: sessions are signed cookies, and everything else is in the database, so a
load balancer may send any request to any worker on any machine.

Because of that, the settings must name the session secret and central's signing key even in
demo mode: a secret generated per worker would log users out whenever the balancer switches
worker, and gates would refuse commands signed by a key generated per worker.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from central.errors import ConfigurationError
from central.settings import CentralSettings

log = logging.getLogger(__name__)


def running_under_gevent() -> bool:
    """True in a gunicorn gevent worker (the standard library is patched: streams are greenlets)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket"))


def stream_limit(settings: CentralSettings) -> int:
    from central import streams

    if settings.http.max_streams is not None and running_under_gevent():
        return settings.http.max_streams
    if running_under_gevent():
        return streams.GEVENT_DEFAULT_LIMIT
    # A threaded worker (gunicorn -k gthread): a stream holds a thread, as under waitress.
    return streams.waitress_limit(settings.http)


def create_application(settings: CentralSettings | None = None) -> Flask:
    """One web worker's app: database, bus listener, broker publisher; closed at the worker's exit."""
    from central.app import EXT_BUS, create_app, load_central_key
    from central.buses import build_bus, bus_kind, close_bus, start_bus
    from central.cctv.views import init_app as init_cctv
    from central.db import Database, metadata
    from central.enrolments.views import init_app as init_enrolments
    from central.publisher import BrokerPublisher
    from central.streams import init_app as init_streams
    from central.watchlists.views import init_app as init_watchlists

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    settings = settings or CentralSettings()
    if settings.secret_key is None or settings.central_key_file is None:
        raise ConfigurationError(
            "web workers must share one session secret and one signing key: set AUTOGATE_CENTRAL_SECRET_KEY "
            "and AUTOGATE_CENTRAL_CENTRAL_KEY_FILE (also in demo mode)")
    if bus_kind(settings) == "local":
        raise ConfigurationError(
            "web workers need a bus between processes: a PostgreSQL database_url, or AUTOGATE_CENTRAL_BUS__KIND=mqtt")
    metadata()  # every area's tables on the shared metadata
    database = Database(settings.database_url)
    bus = build_bus(settings)
    start_bus(bus)
    publisher = BrokerPublisher(settings.mqtt)
    publisher.start()

    def publish(topic: str, payload: bytes, retain: bool) -> None:
        publisher.publish(topic, payload, retain=retain)

    app = create_app(
        settings,
        database=database,
        central_key=load_central_key(settings),
        publisher=publisher,
        bus=bus,
        extensions=[
            lambda app: init_watchlists(app, publish=publish),
            init_enrolments,
            lambda app: init_cctv(app, publish=publish),
        ],
    )
    init_streams(app, stream_limit(settings))

    def close() -> None:
        close_bus(app.extensions[EXT_BUS])
        publisher.close()
        database.dispose()

    atexit.register(close)
    log.info("web worker ready: bus %s, %d stream slots", bus_kind(settings), stream_limit(settings))
    return app
