"""The CCTV housekeeping thread inside ``autogate central serve``.

Every ``cctv.purge_interval_s`` (the first time 10 s after start): delete the pictures of unconfirmed alarms past retention; bring
the face list in line with the watchlist (an entry deactivated there leaves the face list) and
publish any version not yet published (the broker was down when it was made); republish the
person flags when one expired. Each step commits on its own, so one failing does not stop the
others, and a failure is logged and retried at the next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from central.cctv import alarms, faces, publisher
from central.db import Database
from central.errors import CentralError
from central.models import from_ms
from central.services.audit import Actor
from central.settings import CctvSettings
from protocol.keys import KeyPair

log = logging.getLogger(__name__)

SYSTEM = Actor(username="system:cctv", role=None)
FIRST_TICK_S = 10.0


class CctvMonitor:
    def __init__(self, database: Database, settings: CctvSettings, *, key: KeyPair,
                 publish: Callable[[str, bytes, bool], None] | None, model: Callable[[], str],
                 clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._settings = settings
        self._key = key
        self._publish = publish
        self._model = model
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._flags_published: tuple[str, ...] | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="central-cctv-monitor", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        # A first tick soon after start: a face list made while central could not publish goes
        # out once the broker connection is up, not a whole interval later.
        wait_s = min(FIRST_TICK_S, self._settings.purge_interval_s)
        while not self._stopping.wait(wait_s):
            self.tick()
            wait_s = self._settings.purge_interval_s

    def tick(self) -> None:
        now_ms = int(self._clock() * 1000)
        for step in (self._purge, self._face_list, self._flags):
            try:
                step(now_ms)
            except (CentralError, OSError, ValueError) as exc:
                log.error("cctv monitor: %s failed: %s; retried at the next tick", step.__name__, exc)
            except Exception:
                log.exception("cctv monitor: %s failed; retried at the next tick", step.__name__)

    def _purge(self, now_ms: int) -> None:
        with self._database.session() as session:
            alarms.purge_expired(session, from_ms(now_ms), self._settings)
            session.commit()

    def _face_list(self, now_ms: int) -> None:
        model = self._model()
        with self._database.session() as session:
            faces.commit_version(session, SYSTEM, "in line with the watchlist", settings=self._settings, model=model)
            session.commit()
            if self._publish is not None and publisher.needs_publication(session):
                publisher.publish_current(session, key=self._key, publish=self._publish, now_ms=now_ms, model=model)
                session.commit()

    def _flags(self, now_ms: int) -> None:
        if self._publish is None:
            return
        with self._database.session() as session:
            ids = tuple(f.id for f in publisher.active_flags(session, from_ms(now_ms)))
            if ids != self._flags_published:
                publisher.publish_flags(session, key=self._key, publish=self._publish, now_ms=now_ms)
                self._flags_published = ids
