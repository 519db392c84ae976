"""The stale-list alarm: a gate that lags past the grace period raises one alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from wl_support import (
    CENTRAL_KEY,
    HEADER,
    NOW_MS,
    NOW_S,
    ROWS,
    SUPERVISOR,
    FakeBroker,
    make_database,
)

from central.db import Database
from central.models import Alert, Gate
from central.watchlists import csvimport, publisher, stale
from central.watchlists.stale import GateVersion, StaleListMonitor, find_stale

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)
PUBLISHED = {1: T0, 2: T0 + timedelta(minutes=10), 3: T0 + timedelta(minutes=20)}


@pytest.mark.parametrize(
    ("gate", "minutes", "stale_since"),
    [
        (GateVersion("g", 3), 60, "current"),  # up to date
        (GateVersion("g", 2), 24, "fresh"),  # version 3 out 4 min ago: within grace
        (GateVersion("g", 2), 26, 3),  # ... 6 min ago: stale since version 3
        (GateVersion("g", 1), 16, 2),  # missing 2 and 3: since the first one it misses
        (GateVersion("g", None), 6, 1),  # never reported
        (GateVersion("g", 2, online=False), 60, "fresh"),  # offline: the offline alarm's job
        (GateVersion("g", 7), 0, None),  # ahead of central: at once
    ],
)
def test_find_stale(gate: GateVersion, minutes: int, stale_since: object) -> None:
    found = find_stale([gate], current_version=3, published=PUBLISHED, now=T0 + timedelta(minutes=minutes), grace=GRACE)
    if stale_since in ("current", "fresh"):
        assert found == []
    else:
        assert len(found) == 1
        assert found[0].behind_since == (PUBLISHED[stale_since] if stale_since else None)


def test_unpublished_versions_do_not_count() -> None:
    found = find_stale([GateVersion("g", 1)], current_version=2, published={1: T0}, now=T0 + timedelta(hours=1), grace=GRACE)
    assert found == []


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = make_database(f"sqlite:///{tmp_path / 'central.db'}")
    yield database
    database.dispose()


def _gate(session, gate_id: str, version: int | None, online: bool = True) -> None:
    session.add(Gate(id=gate_id, direction="departure", public_key="k" * 43, last_seq=0, online=online,
                     state_sent_ms=0, health_sent_ms=0, watchlist_version=version))


def test_check_raises_one_alert_per_lagging_gate_until_acknowledged(db: Database) -> None:
    """Without this, a gate could screen travellers against last week's list and nobody would know."""
    with db.session() as s:
        csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv")
        publisher.publish_current(s, key=CENTRAL_KEY, publish=FakeBroker().publish, now_ms=NOW_MS)
        _gate(s, "gate-ok", 1)
        _gate(s, "gate-old", 0)
        s.commit()
        published = datetime.fromtimestamp(NOW_S, tz=UTC)
        assert stale.check_stale_gates(s, now=published + timedelta(seconds=200), grace_s=300) == []
        alerts = stale.check_stale_gates(s, now=published + timedelta(seconds=400), grace_s=300)
        s.commit()
        assert [(a.gate_id, a.kind, a.severity) for a in alerts] == [("gate-old", "watchlist_stale", "high")]
        assert alerts[0].details["current_version"] == 1 and alerts[0].details["gate_version"] == 0
        assert stale.check_stale_gates(s, now=published + timedelta(seconds=900), grace_s=300) == []
        alerts[0].acknowledged_at = published + timedelta(seconds=950)
        s.commit()
        assert len(stale.check_stale_gates(s, now=published + timedelta(seconds=1000), grace_s=300)) == 1


def test_monitor_check_once_commits_alerts(db: Database) -> None:
    with db.session() as s:
        csvimport.import_csv(s, HEADER + "".join(ROWS), SUPERVISOR, source="a.csv")
        publisher.publish_current(s, key=CENTRAL_KEY, publish=FakeBroker().publish, now_ms=NOW_MS)
        _gate(s, "gate-never", None)
        s.commit()
    monitor = StaleListMonitor(db, clock=lambda: NOW_S + 3600, grace_s=60)
    assert [a.gate_id for a in monitor.check_once()] == ["gate-never"]
    with db.session() as s:
        assert s.scalars(select(Alert.gate_id)).all() == ["gate-never"]
    monitor.start()
    monitor.close()  # stops at once: the loop waits on an Event, not a sleep
