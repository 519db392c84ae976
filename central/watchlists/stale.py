"""The stale-list alarm: a gate that screens with an old watchlist is a hole in the border.

A gate lags from the moment the first version it does not run was published; when that is
longer ago than the grace period (time for the gate to fetch and install it), central raises
one ``watchlist_stale`` alert per gate until a supervisor acknowledges it. ``find_stale`` is
the pure rule; ``check_stale_gates`` applies it to the database; ``StaleListMonitor`` runs the
check periodically on its own thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db import Database
from central.models import Alert, Gate, as_utc
from central.watchlists.models import WatchlistVersion

log = logging.getLogger(__name__)

ALERT_KIND = "watchlist_stale"
DEFAULT_GRACE_S = 300.0


@dataclass(frozen=True)
class GateVersion:
    gate_id: str
    version: int | None  # None: the gate never reported one
    online: bool = True


@dataclass(frozen=True)
class StaleGate:
    gate_id: str
    version: int | None
    current_version: int
    behind_since: datetime | None  # None when the gate runs a version central does not have


def find_stale(
    gates: Iterable[GateVersion], *, current_version: int, published: Mapping[int, datetime],
    now: datetime, grace: timedelta, include_offline: bool = False,
) -> list[StaleGate]:
    """Gates that run another version than *current_version* for longer than *grace*.

    *published* maps version -> publication time (unpublished versions are left out: a gate
    cannot lag behind a list nobody sent). A gate ahead of central (a restored database) is
    reported at once. Offline gates are left to the offline alarm unless *include_offline*.
    """
    stale = []
    for gate in gates:
        if gate.version == current_version or (not gate.online and not include_offline):
            continue
        if gate.version is not None and gate.version > current_version:
            stale.append(StaleGate(gate.gate_id, gate.version, current_version, None))
            continue
        floor = -1 if gate.version is None else gate.version
        missing = [at for v, at in published.items() if floor < v <= current_version]
        if not missing:
            continue
        since = min(missing)
        if now - since > grace:
            stale.append(StaleGate(gate.gate_id, gate.version, current_version, since))
    return stale


def check_stale_gates(
    session: Session, *, now: datetime, grace_s: float = DEFAULT_GRACE_S, include_offline: bool = False
) -> list[Alert]:
    """Raise an alert for each newly stale gate (none while one is still unacknowledged).
    Returns the new alerts; the caller commits."""
    versions = list(session.scalars(select(WatchlistVersion)))
    current = max((v.version for v in versions), default=0)
    published = {v.version: as_utc(v.published_at) for v in versions if v.published_at is not None}
    gates = [GateVersion(g.id, g.watchlist_version, bool(g.online)) for g in session.scalars(select(Gate))]
    found = find_stale(
        gates, current_version=current, published=published,  # type: ignore[arg-type]
        now=now, grace=timedelta(seconds=grace_s), include_offline=include_offline,
    )
    open_alerts = set(session.scalars(
        select(Alert.gate_id).where(Alert.kind == ALERT_KIND, Alert.acknowledged_at.is_(None))
    ))
    alerts = []
    for gate in found:
        if gate.gate_id in open_alerts:
            continue
        if gate.behind_since is None:
            text = f"gate {gate.gate_id} runs watchlist version {gate.version}, newer than central's {gate.current_version}"
        else:
            minutes = int((now - gate.behind_since).total_seconds() // 60)
            text = (f"gate {gate.gate_id} runs watchlist version {gate.version}, current is "
                    f"{gate.current_version} (behind for {minutes} min)")
        alert = Alert(
            gate_id=gate.gate_id, kind=ALERT_KIND, severity="high", message=text, requires_ack=True, created_at=now,
            details={"gate_version": gate.version, "current_version": gate.current_version,
                     "behind_since": gate.behind_since.isoformat() if gate.behind_since else None},
        )
        session.add(alert)
        alerts.append(alert)
        log.warning("gate_id=%s watchlist stale: runs %s, current %d", gate.gate_id, gate.version, gate.current_version)
    return alerts


class StaleListMonitor:
    """Runs :func:`check_stale_gates` every ``interval_s`` on a thread; ``close()`` stops it.

    :param database: central's database.
    :param clock: wall clock, epoch seconds.
    :param interval_s: seconds between checks (default 60).
    :param grace_s: how long a gate may lag before the alarm (default 300).
    """

    def __init__(
        self, database: Database, *, clock: Callable[[], float] = time.time, interval_s: float = 60.0,
        grace_s: float = DEFAULT_GRACE_S, include_offline: bool = False,
    ) -> None:
        self._database = database
        self._clock = clock
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.include_offline = include_offline
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> list[Alert]:
        with self._database.session() as session:
            alerts = check_stale_gates(
                session, now=datetime.fromtimestamp(self._clock(), tz=UTC),
                grace_s=self.grace_s, include_offline=self.include_offline,
            )
            session.commit()
            return alerts

    def start(self) -> StaleListMonitor:
        self._thread = threading.Thread(target=self._run, name="watchlist-stale", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.check_once()
            except Exception:  # a DB outage must not kill the monitor; the next round retries
                log.exception("watchlist stale check failed")

    def close(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
