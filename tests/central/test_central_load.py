"""`make load` in short: gates through the real broker into central's ingest workers with consoles
open, and the JSON line it prints. No timed assertions: what arrived, once, and what consoles saw.

Runs on the zero-setup defaults (embedded amqtt, SQLite, one worker) and on the services (Mosquitto
and PostgreSQL, two worker processes on a shared subscription): the ``stack`` fixture.
"""

from __future__ import annotations

import json

from bench.central.load import LoadConfig, LoadResult, main, run_load

KEYS = ["gates", "events", "stored", "lost", "duplicated", "events_per_s", "p50_ms", "p99_ms", "alarm_p99_ms"]


def test_a_short_load_stores_every_event_once_and_every_console_sees_every_hold_alarm(stack) -> None:
    workers = 2 if stack.kind == "services" else 1  # SQLite has one writer; amqtt no shared subscriptions
    config = LoadConfig(gates=3, events=60, workers=workers, consoles=2, mqtt_host=stack.broker.host,
                        mqtt_port=stack.broker.port, mqtt_username=stack.broker.username,
                        mqtt_password=stack.broker.password, database_url=stack.database_url)
    result = run_load(config)
    assert isinstance(result, LoadResult)
    assert result.events == 3 * 60
    assert (result.stored, result.lost, result.duplicated) == (result.events, 0, 0)
    assert result.alarms == 3  # one hold per hundred events a gate sends, the 55th
    # Each worker's consoles read every notice it published: every hold reached every console.
    assert result.alarms_seen == result.alarms * config.consoles
    assert result.p50_ms is not None and result.p99_ms is not None and result.alarm_p99_ms is not None
    assert list(result.line())[: len(KEYS)] == KEYS


def test_make_load_prints_one_json_line_and_its_figures(_embedded_broker, capsys, monkeypatch) -> None:
    """The command line (the same on every broker and database: once, on the defaults)."""
    monkeypatch.delenv("AUTOGATE_BENCH_FIGURES", raising=False)
    broker = _embedded_broker
    argv = ["--gates", "2", "--events", "20", "--workers", "1", "--consoles", "1", "--sqlite",
            "--mqtt", f"{broker.host}:{broker.port}", "--mqtt-user", broker.username or "",
            "--mqtt-password", broker.password or ""]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    summary, figures = lines[0], lines[1:]
    assert list(summary)[: len(KEYS)] == KEYS and summary["stored"] == 40 and summary["lost"] == 0
    assert [f["name"] for f in figures] == [
        "central.load.events_per_s", "central.load.stored_p50", "central.load.stored_p99", "central.load.alarm_p99"]
