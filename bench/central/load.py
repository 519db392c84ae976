"""`make load`: N simulated gates publish signed events through a real MQTT broker into central's
ingest workers, with M consoles open; one JSON line of what arrived and how fast.

    .venv/bin/python -m bench.central.load [--gates 50] [--events 200] [--rate 0] [--workers 2]
        [--consoles 5] [--mqtt 127.0.0.1:1883] [--postgres URL | --sqlite]

Each gate is a paho client of its own (client id = gate id, as at a gate) publishing QoS 1 on
its events topic. Its messages are sealed with its own Ed25519 key and a rising sequence before
the clock starts (signing is the gate's work, not central's), then published at ``--rate``
events a second across all gates (0: as fast as the broker takes them). About 10 % are crossing
records and 1 % hold alarms (``alarm_raised`` / ``cekal_identik``, a watchlist-hold alert); the
rest are transaction steps. The gates' time of publication is recorded per message.

Central is ``--workers`` ingest processes (the production ``IngestService``; with more than one,
on the shared subscription ``$share/<group>/...``) on one database. Each worker's event bus notes
when it published each notice (after the commit) and passes it to a consoles' process (as a bus
between processes would pass it to a web process), where ``--consoles`` readers each do what an
open console stream does for a notice (central.views.console.notice_events: read the alerts, gate
and crossing it names) and note when a hold alarm's alert reached them.

The JSON line: ``gates``, ``events`` (published), ``stored`` (ledger rows), ``lost`` (published,
never stored), ``duplicated`` (ledger rows beyond one per message id, plus messages two workers
both reported as newly stored), ``events_per_s`` (stored per second from the first publication
to the last commit), ``p50_ms``/``p99_ms`` (gate publication to commit notice) and
``alarm_p99_ms`` (gate publication to the alert read by a console). Figures go through
bench.figures.emit as well. A PostgreSQL run works in a schema of its own and drops it.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import queue
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ALARM_REASON = "cekal_identik"  # the gate's watchlist hold (edge/gate/machine.py)
log = logging.getLogger("bench.central.load")


@dataclass(frozen=True)
class LoadConfig:
    gates: int = 50
    events: int = 200  # per gate
    rate: float = 0.0  # events a second over all gates; 0: as fast as the broker takes them
    workers: int = 2
    consoles: int = 5  # console readers in the consoles' process
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    database_url: str = ""  # empty: a fresh PostgreSQL schema in DEFAULT_POSTGRES
    batch_max: int = 200
    settle_s: float = 60.0  # give up waiting once nothing new was stored for this long
    profile_dir: str = ""  # write each worker's cProfile stats here (the hot path, for docs)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])


@dataclass
class LoadResult:
    gates: int
    events: int
    stored: int
    lost: int
    duplicated: int
    events_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    alarm_p99_ms: float | None
    alarms: int = 0
    alarms_seen: int = 0  # (alarm, console) pairs that reached a console
    workers: int = 0
    consoles: int = 0
    rate: float = 0.0

    def line(self) -> dict[str, object]:
        return asdict(self)


# -- the gates ------------------------------------------------------------------------------
def gate_messages(gate_id: str, key, count: int, now_ms: int) -> list[tuple[str, str, bytes, bool]]:
    """(message id, topic, sealed bytes, is a hold alarm) for one gate's *count* events."""
    from protocol import CrossingRecord, GateEvent, TravelerDocument, seal
    from protocol.topics import gate_events

    traveler = TravelerDocument(
        document_number="X1234567", document_type="P", issuing_state="IDN", expiry_date=date(2030, 1, 1),
        given_names="SITI", surname="RAHAYU", sex="F", birth_date=date(1990, 5, 17), nationality="IDN",
    )
    topic = gate_events(gate_id)
    out = []
    for seq in range(1, count + 1):
        tx = f"{gate_id}-tx{seq // 12}"
        alarm = seq % 100 == 55
        if seq % 10 == 0:
            payload = CrossingRecord(transaction_id=f"{gate_id}-c{seq}", direction="departure", traveler=traveler,
                                     started_at_ms=now_ms - 9000, completed_at_ms=now_ms)
        elif alarm:
            payload = GateEvent(event="alarm_raised", transaction_id=f"{gate_id}-h{seq}", reason=ALARM_REASON)
        else:
            payload = GateEvent(event="document_read", transaction_id=tx, state_from="reading", state_to="checking")
        message_id = uuid.uuid4().hex
        out.append((message_id, topic, seal(payload, sender=gate_id, key=key, seq=seq, now_ms=now_ms,
                                            message_id=message_id), alarm))
    return out


def run_gates(config: LoadConfig, gates: list[tuple[str, str]], start_at: float, results: mp.Queue) -> None:
    """One publisher process: its gates' clients, paced to its share of ``config.rate``."""
    import paho.mqtt.client as mqtt

    from protocol.keys import KeyPair

    now_ms = int(time.time() * 1000)
    per_gate = [gate_messages(gate_id, KeyPair.from_seed_b64(secret), config.events, now_ms) for gate_id, secret in gates]
    clients = []
    for gate_id, _ in gates:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=gate_id, protocol=mqtt.MQTTv311)
        if config.mqtt_username:
            client.username_pw_set(config.mqtt_username, config.mqtt_password)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.connect(config.mqtt_host, config.mqtt_port, keepalive=60)
        client.loop_start()
        clients.append(client)
    # Round robin over the gates, as many gates sending at once do.
    order = [(g, i) for i in range(config.events) for g in range(len(gates))]
    share = config.rate * len(gates) / config.gates if config.rate > 0 else 0.0
    sent: dict[str, float] = {}
    infos = []
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    for n, (g, i) in enumerate(order):
        if share > 0:
            due = began + n / share
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
        message_id, topic, payload, _alarm = per_gate[g][i]
        sent[message_id] = time.time()
        infos.append(clients[g].publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    unacked = sum(1 for info in infos if not info.is_published())
    for client in clients:
        client.disconnect()
        client.loop_stop()
    alarms = [m[0] for msgs in per_gate for m in msgs if m[3]]
    results.put({"sent": sent, "alarms": alarms, "unacked": unacked})


# -- central's ingest workers ----------------------------------------------------------------
class RecordingBus:
    """The worker's event bus: notes when each notice was published (after its commit) and passes
    it on to the consoles' process, as a bus between processes does (central/events.py)."""

    def __init__(self, forward: mp.Queue | None) -> None:
        from central.events import LocalBus

        self._bus = LocalBus()
        self._forward = forward
        self.published: list[tuple[str | None, str, float]] = []

    def publish(self, notice) -> None:
        self.published.append((notice.message_id, notice.outcome, time.time()))
        self._bus.publish(notice)
        if self._forward is not None:
            self._forward.put((notice.gate_id, notice.channel, notice.message_id, notice.outcome))

    def subscribe(self):
        return self._bus.subscribe()

    def close_subscriptions(self) -> None:
        self._bus.close_subscriptions()


def console_reader(database, subscription, seen: list[tuple[str, float]], stop: threading.Event) -> None:
    """What an open console's stream does for each notice; notes when an alert reached it."""
    from central.views.console import notice_events

    while True:
        notice = subscription.get(0.2)
        if notice is None:
            if stop.is_set():  # only once every notice was read: a console behind is measured
                return
            continue
        with database.session() as session:
            frames = notice_events(session, notice, int(time.time() * 1000))
        if notice.message_id and any(name == "alert" for name, _ in frames):
            seen.append((notice.message_id, time.time()))


def run_consoles(config: LoadConfig, database_url: str, notices: mp.Queue, ready: mp.Event, stop: mp.Event,
                 results: mp.Queue) -> None:
    """The consoles' process (a web process): every notice the workers publish reaches each of
    ``config.consoles`` readers through its own subscription, as each open console stream has."""
    logging.basicConfig(level=logging.WARNING, format="consoles: %(levelname)s %(name)s: %(message)s")
    from central.events import LocalBus, Notice

    database = _database_for(database_url)
    bus = LocalBus()
    seen: list[tuple[str, float]] = []
    console_stop = threading.Event()
    readers = [threading.Thread(target=console_reader, args=(database, bus.subscribe(), seen, console_stop),
                                daemon=True) for _ in range(config.consoles)]
    for reader in readers:
        reader.start()
    ready.set()
    while True:
        item = notices.get()
        if item is None:  # every worker has stopped
            break
        bus.publish(Notice(*item))
    console_stop.set()
    for reader in readers:
        reader.join(60)
    database.dispose()
    results.put({"seen": seen})


def run_worker(config: LoadConfig, index: int, database_url: str, notices: mp.Queue | None, ready: mp.Event,
               stop: mp.Event, results: mp.Queue) -> None:
    """One ingest process: the production IngestService, its bus recording and forwarding."""
    logging.basicConfig(level=logging.WARNING, format=f"worker {index}: %(levelname)s %(name)s: %(message)s")
    from central.ingest.mqtt import IngestService
    from central.settings import CentralSettings, MqttSettings

    settings = CentralSettings(
        demo_mode=True,  # no web side here: no session secret or command key is used
        database_url=database_url,
        mqtt=MqttSettings(host=config.mqtt_host, port=config.mqtt_port, username=config.mqtt_username,
                          password=config.mqtt_password, client_id=worker_client_id(config, index)),
        ingest_batch_max=config.batch_max,
        ingest_share_group=f"load-{config.run_id}" if config.workers > 1 else None,
    )
    database = _database_for(database_url)
    bus = RecordingBus(notices)
    service = IngestService(settings, database)
    service.worker._bus = bus  # the worker publishes to the recording bus
    service.worker.cctv._bus = bus
    profiler = None
    if config.profile_dir:
        import cProfile

        profiler = cProfile.Profile()
        _profile_ingest_thread(service, profiler)
    service.start()
    if not service.wait_until_subscribed(30):
        results.put({"index": index, "error": "not subscribed within 30 s"})
        return
    ready.set()
    stop.wait()
    service.stop()
    if profiler is not None:
        profiler.dump_stats(str(Path(config.profile_dir) / f"ingest-{index}.prof"))
    database.dispose()
    results.put({"index": index, "published": bus.published, "metrics": service.metrics.snapshot()})


def _profile_ingest_thread(service, profiler) -> None:
    """Run the ingest worker's thread under *profiler* (cProfile sees one thread at a time)."""
    worker = service.worker
    run = worker._run

    def profiled() -> None:
        profiler.enable()
        try:
            run()
        finally:
            profiler.disable()

    worker._run = profiled


def forget_session(host: str, port: int, client_id: str, username: str | None = None,
                   password: str | None = None) -> None:
    """Drop a worker's persistent session (and its shared subscription) from the broker: a clean
    connect under its client id. Otherwise the broker keeps queueing for it after the run."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True,
                         protocol=mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    try:
        client.connect(host, port)
        client.loop_start()
        client.disconnect()
        client.loop_stop()
    except OSError:
        log.warning("could not drop the session of %s on %s:%d", client_id, host, port)


def worker_client_id(config: LoadConfig, index: int) -> str:
    return f"autogate-load-{config.run_id}-{index}"


# -- the run ---------------------------------------------------------------------------------
@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A schema of our own in *url*'s database, dropped afterwards."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_load(config: LoadConfig) -> LoadResult:
    if config.database_url:
        return _run(config, config.database_url)
    with postgres_schema(DEFAULT_POSTGRES) as url:
        return _run(config, url)


def _run(config: LoadConfig, database_url: str) -> LoadResult:
    from sqlalchemy import func, select

    from central.models import GateMessage
    from central.services.gates import add_gate
    from protocol import generate_keypair

    database = _database_for(database_url)
    database.migrate()
    gates = []
    with database.session() as session:
        for n in range(config.gates):
            gate_id = f"load-{config.run_id}-{n:03d}"
            key = generate_keypair()
            add_gate(session, gate_id, public_key_b64=key.public.b64, direction="departure")
            gates.append((gate_id, key.seed_b64))
        session.commit()
    gate_ids = [g for g, _ in gates]
    ctx = mp.get_context("spawn")
    worker_results: mp.Queue = ctx.Queue()
    stop = ctx.Event()
    notices: mp.Queue | None = ctx.Queue() if config.consoles else None
    console_results: mp.Queue = ctx.Queue()
    consoles = None
    waiting = []
    if notices is not None:
        ready = ctx.Event()
        consoles = ctx.Process(target=run_consoles, args=(config, database_url, notices, ready, stop, console_results),
                               name="load-consoles")
        consoles.start()
        waiting.append((consoles, ready))
    workers = []
    for index in range(config.workers):
        ready = ctx.Event()
        process = ctx.Process(target=run_worker,
                              args=(config, index, database_url, notices, ready, stop, worker_results),
                              name=f"load-ingest-{index}")
        process.start()
        workers.append((process, ready))
    for process, ready in waiting + workers:
        while not ready.wait(0.5):
            if not process.is_alive():
                raise RuntimeError(f"ingest worker {process.name} died before subscribing")
    publishers = max(1, min(4, config.gates // 25))
    gate_results: mp.Queue = ctx.Queue()
    start_at = time.time() + 2.0 + 0.00015 * config.gates * config.events / publishers  # time to seal
    senders = [ctx.Process(target=run_gates, args=(config, gates[p::publishers], start_at, gate_results))
               for p in range(publishers)]
    for sender in senders:
        sender.start()
    sent: dict[str, float] = {}
    alarms: list[str] = []
    for _ in senders:
        part = gate_results.get()
        sent.update(part["sent"])
        alarms += part["alarms"]
        if part["unacked"]:
            log.warning("%d messages had no PUBACK from the broker", part["unacked"])
    for sender in senders:
        sender.join()
    expected = len(sent)

    def stored_count() -> int:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(GateMessage)
                                  .where(GateMessage.gate_id.in_(gate_ids))) or 0

    last, last_change = -1, time.monotonic()
    while True:
        count = stored_count()
        if count >= expected:
            break
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > config.settle_s:
            break
        time.sleep(0.2)
    stop.set()
    reports = [worker_results.get(timeout=120) for _ in workers]
    for process, _ in workers:
        process.join(30)
    for index in range(config.workers):
        forget_session(config.mqtt_host, config.mqtt_port, worker_client_id(config, index),
                       config.mqtt_username, config.mqtt_password)
    seen: list[tuple[str, float]] = []
    if consoles is not None and notices is not None:
        notices.put(None)
        seen = console_results.get(timeout=300)["seen"]
        consoles.join(30)
    with database.session() as session:
        rows = session.scalar(select(func.count()).select_from(GateMessage).where(GateMessage.gate_id.in_(gate_ids))) or 0
        distinct = session.scalar(select(func.count(func.distinct(GateMessage.message_id)))
                                  .where(GateMessage.gate_id.in_(gate_ids))) or 0
    database.dispose()
    for report in reports:
        if "error" in report:
            raise RuntimeError(f"ingest worker {report['index']}: {report['error']}")
    stored_at: dict[str, float] = {}
    new_reports: Counter[str] = Counter()
    for report in reports:
        for message_id, outcome, at in report["published"]:
            if message_id in sent and outcome == "stored":
                new_reports[message_id] += 1
                stored_at[message_id] = min(at, stored_at.get(message_id, at))
    latencies = [1000 * (stored_at[m] - sent[m]) for m in stored_at]
    alarm_set = set(alarms)
    alarm_latencies = [1000 * (at - sent[m]) for m, at in seen if m in alarm_set]
    first_sent = min(sent.values()) if sent else 0.0
    last_stored = max(stored_at.values()) if stored_at else first_sent
    return LoadResult(
        gates=config.gates,
        events=expected,
        stored=distinct,
        lost=expected - distinct,
        duplicated=(rows - distinct) + sum(n - 1 for n in new_reports.values() if n > 1),
        events_per_s=round(len(stored_at) / (last_stored - first_sent), 1) if last_stored > first_sent else 0.0,
        p50_ms=_round(_percentile(latencies, 0.50)),
        p99_ms=_round(_percentile(latencies, 0.99)),
        alarm_p99_ms=_round(_percentile(alarm_latencies, 0.99)),
        alarms=len(alarms),
        alarms_seen=len(alarm_latencies),
        workers=config.workers,
        consoles=config.consoles,
        rate=config.rate,
    )


def _database_for(url: str):
    from central.cli import _database
    from central.settings import CentralSettings

    return _database(CentralSettings(demo_mode=True, database_url=url))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", type=int, default=50)
    parser.add_argument("--events", type=int, default=200, help="events per gate")
    parser.add_argument("--rate", type=float, default=0.0, help="events a second over all gates (0: flat out)")
    parser.add_argument("--workers", type=int, default=2, help="ingest worker processes")
    parser.add_argument("--consoles", type=int, default=5, help="open consoles (readers in one web-like process)")
    parser.add_argument("--batch-max", type=int, default=200, help="most messages one transaction stores")
    parser.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    parser.add_argument("--mqtt-user", default=None)
    parser.add_argument("--mqtt-password", default=None)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (a schema is made and dropped)")
    where.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    parser.add_argument("--profile", default="", help="write each ingest worker's cProfile stats to this folder")
    parser.add_argument("--figure-prefix", default="central.load", help="name prefix of the emitted figures")
    args = parser.parse_args(argv)
    host, _, port = args.mqtt.rpartition(":")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = LoadConfig(gates=args.gates, events=args.events, rate=args.rate, workers=args.workers,
                        consoles=args.consoles, mqtt_host=host, mqtt_port=int(port), mqtt_username=args.mqtt_user,
                        mqtt_password=args.mqtt_password, batch_max=args.batch_max,
                        profile_dir=args.profile)
    if args.sqlite:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            result = run_load(LoadConfig(**{**asdict(config), "database_url": f"sqlite:///{Path(tmp) / 'load.db'}"}))
    else:
        with postgres_schema(args.postgres) as url:
            result = run_load(LoadConfig(**{**asdict(config), "database_url": url}))
    print(json.dumps(result.line()), flush=True)
    if result.lost:
        print(f"{result.lost} events lost: a broker with Mosquitto's default max_queued_messages (1,000 per client) "
              "drops a backlog; see docs/central.md, 'Ingest at scale'", file=sys.stderr)
    from bench.figures import emit

    conditions = {"gates": result.gates, "events": result.events, "workers": result.workers,
                  "consoles": result.consoles, "rate": result.rate, "lost": result.lost,
                  "duplicated": result.duplicated, "load_average": round(os.getloadavg()[0], 2)}
    emit(f"{args.figure_prefix}.events_per_s", result.events_per_s, "events/s", **conditions)
    emit(f"{args.figure_prefix}.stored_p50", result.p50_ms, "ms", **conditions)
    emit(f"{args.figure_prefix}.stored_p99", result.p99_ms, "ms", **conditions)
    emit(f"{args.figure_prefix}.alarm_p99", result.alarm_p99_ms, "ms", alarms_seen=result.alarms_seen, **conditions)
    return 0 if result.lost == 0 and result.duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
