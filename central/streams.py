"""Slots for open event streams (the console's and the CCTV operator's ``/stream``).

Under waitress (``autogate central serve``, ``make demo``) a server-sent-event stream holds one
worker thread for as long as it is open; with every thread holding a stream, ``/healthz`` and
every page wait (issue 18 item 3: eight consoles took all eight threads). So a process serves at
most ``limit`` streams at once, and keeps the other threads for pages: one stream more is
answered ``503`` with ``Retry-After`` at once, and the console polls ``/console/live`` until its
retry finds a free slot. Under gunicorn's gevent workers a stream is a greenlet and holds no
thread, so the limit there is only a memory bound (central/wsgi.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app, jsonify
from werkzeug.wrappers import Response

from central.settings import HttpSettings

log = logging.getLogger(__name__)

EXT = "autogate.stream_slots"
RETRY_AFTER_S = 30
# Under gevent a stream costs a greenlet and a socket, not a thread.
GEVENT_DEFAULT_LIMIT = 1000


def waitress_limit(http: HttpSettings) -> int:
    """Streams under waitress: the configured number, else half the threads (pages keep the rest)."""
    if http.max_streams is not None:
        return min(http.max_streams, http.threads - 1)  # one thread always answers /healthz and pages
    return http.threads // 2


class StreamSlots:
    """A counter of open streams with a ceiling; :meth:`take` hands back a one-shot release."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("stream limit must be >= 0")
        self.limit = limit
        self._lock = threading.Lock()
        self._open = 0
        self.refused = 0

    @property
    def open(self) -> int:
        with self._lock:
            return self._open

    def take(self) -> Callable[[], None] | None:
        """A slot, as the function that gives it back (safe to call twice), or None when all are taken."""
        with self._lock:
            if self._open >= self.limit:
                self.refused += 1
                return None
            self._open += 1
        given_back = threading.Event()

        def release() -> None:
            with self._lock:
                if given_back.is_set():
                    return
                given_back.set()
                self._open -= 1

        return release


def init_app(app: Flask, limit: int) -> None:
    """Give *app* its stream slots (called again by central/wsgi.py to raise the limit under gevent)."""
    app.extensions[EXT] = StreamSlots(limit)


def slots() -> StreamSlots:
    return current_app.extensions[EXT]


def refuse() -> Response:
    """All slots taken: a clear 503 the console answers by polling, never a hang."""
    log.warning("stream refused: %d streams open (limit)", slots().limit)
    response = jsonify({"error": "busy", "message": "too many open live streams here; poll /console/live and retry",
                        "retry_after_s": RETRY_AFTER_S})
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
