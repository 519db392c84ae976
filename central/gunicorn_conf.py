"""gunicorn settings for central's web workers (``make serve``; docs/central.md "Deployment").

    gunicorn -c python:central.gunicorn_conf 'central.wsgi:create_application()'

Why gevent workers: a console keeps a server-sent-event stream open for minutes. A threaded
server (waitress, gunicorn's gthread) parks one thread per open stream, so eight consoles took
all of waitress's threads (issue 18 item 3). Under gevent a stream is a greenlet waiting on the
bus; psycopg 3 and paho cooperate with the patched sockets. The price: CPU-bound work (argon2 at
login, face enrolment from a photo) holds its worker's loop while it runs, so run several
workers (one to two per core) and keep the balancer's health check on ``/healthz``.

Every value can be overridden on the command line or with ``GUNICORN_CMD_ARGS``; the two that
deployments change are read from the environment here: ``AUTOGATE_WEB_BIND`` (default
127.0.0.1:8000; put TLS termination and the load balancer in front) and ``AUTOGATE_WEB_WORKERS``
(default two per core).
"""

from __future__ import annotations

import os

bind = os.environ.get("AUTOGATE_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("AUTOGATE_WEB_WORKERS", str(2 * (os.cpu_count() or 1))))
worker_class = "gevent"
worker_connections = int(os.environ.get("AUTOGATE_WEB_WORKER_CONNECTIONS", "1000"))  # open streams + pages per worker
# No preload: each worker builds its own app (database pool, bus listener, broker client) after
# the fork and after gevent's patching; none of those survive a fork.
preload_app = False
timeout = 30  # a gevent worker's heartbeat, not a request deadline: streams stay open
graceful_timeout = 10  # open streams end then; EventSource reconnects to another worker
keepalive = 5
# Behind a reverse proxy on the same host only; name the proxy's address in FORWARDED_ALLOW_IPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("AUTOGATE_WEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("AUTOGATE_WEB_LOG_LEVEL", "info")
proc_name = "autogate-central-web"
