"""End to end over a real (embedded) MQTT broker: ``autogate watchlist publish`` to a subscribed gate.

Retained messages are the point here: a gate that connects after publication must still get
the notice and every chunk, and central's clearing must leave only the current version.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import date

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from wl_support import CENTRAL_KEY, HEADER, NOW_MS, NOW_S, ROWS

from central.settings import CentralSettings
from central.watchlists import cli
from edge.link.watchlist_sync import SUBSCRIPTIONS, WatchlistSync
from edge.watchlist.local import LocalWatchlist
from edge.watchlist.model import ScreeningQuery
from edge.watchlist.snapshot import WatchlistSnapshot
from simulators.broker import EmbeddedBroker

TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


class GateClient:
    """A paho client subscribed like a gate; messages go on a queue the test drains."""

    def __init__(self, broker: EmbeddedBroker) -> None:
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="wl-test-gate", clean_session=True)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in SUBSCRIPTIONS])
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, m.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def drain_into(self, sync: WatchlistSync, until_version: int) -> None:
        while sync.version != until_version:
            sync.handle(*self.inbox.get(timeout=TIMEOUT_S))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_publish_reaches_a_gate_that_connects_later(broker: EmbeddedBroker, tmp_path) -> None:
    key_file = tmp_path / "central.key"
    CENTRAL_KEY.save(key_file)
    settings = CentralSettings(
        demo_mode=True, database_url=f"sqlite:///{tmp_path / 'central.db'}", central_key_file=key_file,
        mqtt={"host": broker.host, "port": broker.port, "client_id": "wl-test-central"},
    )
    csv_path = tmp_path / "a.csv"
    csv_path.write_text(HEADER + "".join(ROWS), encoding="utf-8")
    args = cli._parser().parse_args(["import", str(csv_path), "--by", "sup-1", "--publish"])
    assert cli.run(settings, args, clock=lambda: NOW_S) == 0

    local = LocalWatchlist(WatchlistSnapshot(version=0), path=tmp_path / "gate.json")
    reported: list[int] = []
    sync = WatchlistSync(local, CENTRAL_KEY.public, clock_ms=lambda: NOW_MS, on_installed=lambda v, _s: reported.append(v))
    gate = GateClient(broker)
    try:
        gate.drain_into(sync, until_version=1)
        query = ScreeningQuery(document_number="P9876543", surname="SMITH", given_names="JOHN", nationality="GBR")
        assert local.screen(query, today=date(2026, 6, 1)).level == "identical"
        csv_path.write_text(HEADER + ROWS[0].replace("court order 12", "court order 13"), encoding="utf-8")
        args = cli._parser().parse_args(["import", str(csv_path), "--replace", "--publish"])
        assert cli.run(settings, args, clock=lambda: NOW_S + 60) == 0
        gate.drain_into(sync, until_version=2)
        assert reported == [1, 2] and len(local.snapshot.entries) == 3
        assert {e.reason for e in local.snapshot.entries if e.list == "pencegahan"} == {"court order 13"} 
    finally:
        gate.close()
