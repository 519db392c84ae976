"""``autogate demo``: a whole hall on one machine, on embedded defaults.

Starts the embedded MQTT broker on a free loopback port (per-process accounts, no anonymous
access), central on SQLite at http://127.0.0.1:8000, N simulated gates as separate processes
(each with its own signing key and broker account) and a stream of synthetic travelers, then
prints the URL and freshly generated logins. With ``--seconds`` it stops by itself: gates first
(so their outboxes drain), then central; the last line printed is one JSON object counting what
central stored in its database.

A demo supervisor (``simulators.supervisor``) answers the gates through central's console API
(retries, referrals, releasing a hold after a while), so its commands are signed by central and
acknowledged by the gates as an officer's would be. ``--no-supervisor-bot`` leaves every
decision to you at the console: nobody answers anywhere else (the gates' own timeouts still
send an unanswered traveller to the counter after 60 s).

The real engines run end to end. Every synthetic traveller is enrolled at central ahead of their
arrival (the passport-issuance step, ``Enroller``) with an ISO/IEC 19794-2 template of a synthetic
finger and a face template of their photo (public-domain portraits in simulators/faces/, or
``--faces DIR``). At the gate the passport's data page is rendered with the photo and the MRZ
(simulators/passports.py) and read by the MRZ reader; the finger is a fresh synthetic press and
the face a camera burst of the traveller, or of someone else for an impostor, matched by the
fingerprint and face engines against the enrolment fetched over the signed gate API. Some
travellers are on the seeded watchlist, so holds happen (central's watchlist, published to the
gates before they start). Liveness is off in the demo: still portraits cannot answer a
challenge.

Every run starts from a fresh demo database and fresh keys under ``--workdir``, so it can run
twice in a row without cleanup.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.keys import generate_keypair
from protocol.topics import ROOT, all_gates, gate_commands, gate_events, gate_health, gate_state
from simulators.broker import EmbeddedBroker, free_port
from simulators.faces import DEFAULT_FACES_DIR
from simulators.supervisor import SupervisorBot

log = logging.getLogger(__name__)

DIRECTIONS = ("departure", "departure", "arrival", "arrival")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


def _autogate(*args: str) -> list[str]:
    return [sys.executable, "-m", "autogate", *args]


class PortBusy(RuntimeError):
    """The demo's HTTP port is taken by another program."""


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, with the port named, when something already listens there (instead of
    starting everything and waiting for a central that cannot bind)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortBusy(f"port {port} on {host} is in use by another program: stop it, or choose another port "
                           f"(autogate demo --http-port N, make demo DEMO_PORT=N)") from exc


def _wait_http(url: str, timeout_s: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.25)
    return False


class Hall:
    """The processes of one demo run and the order in which they start and stop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir: Path = args.workdir.resolve()
        self.run_dir = self.workdir / "run"
        self.children: list[Child] = []
        self.broker: EmbeddedBroker | None = None
        self.stop = threading.Event()
        self.gate_ids = [f"gate-{i:02d}" for i in range(1, args.gates + 1)]
        self.logins: dict[str, str] = {}
        self.central_env: dict[str, str] = {}
        self.enroller: Enroller | None = None
        self.supervisor: SupervisorBot | None = None
        self.bot_stop = threading.Event()  # the supervisor works on while the gates wind down
        self.seeds: list[int] = []
        from simulators.passports import can_render

        self.render_documents = can_render()
        if not self.render_documents:
            log.warning("demo: OCR-B font missing (apt-get install fonts-ocr-b): passports are handed over as "
                        "decoded MRZ lines instead of pages for the MRZ reader")

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        (self.run_dir / "logs").mkdir(parents=True)
        (self.run_dir / "keys").mkdir()
        os.chmod(self.run_dir / "keys", 0o700)

    def start_broker(self) -> None:
        self.broker_passwords = {name: secrets.token_urlsafe(18) for name in ["central", *self.gate_ids]}
        # Each gate may publish only under its own topics; central reads everything.
        publish = {"central": [all_gates("commands"), f"{ROOT}/watchlist/#"]}
        subscribe = {"central": [all_gates("events"), all_gates("state"), all_gates("health")]}
        for gate in self.gate_ids:
            publish[gate] = [gate_events(gate), gate_state(gate), gate_health(gate)]
            subscribe[gate] = [gate_commands(gate), f"{ROOT}/watchlist/#"]
        self.broker = EmbeddedBroker(
            users=self.broker_passwords, publish_acl=publish, subscribe_acl=subscribe
        ).start()

    def setup_central(self) -> None:
        assert self.broker is not None
        central_key = generate_keypair()
        key_file = self.run_dir / "keys" / "central.key"
        central_key.save(key_file)
        self.central_public_key = central_key.public.b64
        self.central_env = {
            **os.environ,
            "AUTOGATE_CENTRAL_DATABASE_URL": f"sqlite:///{self.run_dir / 'central.db'}",
            "AUTOGATE_CENTRAL_SECRET_KEY": secrets.token_urlsafe(48),
            "AUTOGATE_CENTRAL_DEMO_MODE": "true",
            "AUTOGATE_CENTRAL_CENTRAL_KEY_FILE": str(key_file),
            "AUTOGATE_CENTRAL_MQTT__HOST": self.broker.host,
            "AUTOGATE_CENTRAL_MQTT__PORT": str(self.broker.port),
            "AUTOGATE_CENTRAL_MQTT__USERNAME": "central",
            "AUTOGATE_CENTRAL_MQTT__PASSWORD": self.broker_passwords["central"],
            "AUTOGATE_CENTRAL_HTTP__HOST": "127.0.0.1",
            "AUTOGATE_CENTRAL_HTTP__PORT": str(self.args.http_port),
        }
        self._bootstrap_central()
        self.seeds = [self.args.seed + index for index in range(len(self.gate_ids))]
        self._seed_watchlist()
        self.enroller = Enroller(self.central_env["AUTOGATE_CENTRAL_DATABASE_URL"], self.seeds,
                                 per_gate=self.args.enrol_ahead, stop=self.stop, faces_dir=self.args.faces).start()

    def _seed_watchlist(self) -> None:
        """Cekal entries for some of the travellers to come (DEMO_WATCHLISTED), as one watchlist
        version, published to the broker (retained) before any gate starts, as central does."""
        from datetime import date

        from central.db import Database
        from central.services.audit import Actor
        from central.watchlists import publisher, service
        from edge.watchlist.model import WatchlistEntry
        from simulators.travelers import DEMO_WATCHLISTED, demo_stream

        entries = []
        for seed in self.seeds:
            stream = demo_stream(seed, today=date.today())
            for index in range(1, max(DEMO_WATCHLISTED) + 1):
                traveler = next(stream)
                if index not in DEMO_WATCHLISTED:
                    continue
                citizen = traveler.nationality == "IDN"
                entries.append(WatchlistEntry(
                    entry_id=f"DEMO-{seed}-{index:03d}",
                    list="pencegahan" if citizen else "penangkalan",
                    document_numbers=(traveler.document_number,),
                    surname=traveler.surname.upper(), given_names=traveler.given_names.upper(),
                    birth_date=traveler.birth_date.isoformat(), nationality=traveler.nationality, sex=traveler.sex,
                    agency="Komisi Pemberantasan Korupsi" if citizen else "Direktorat Jenderal Imigrasi",
                    reason="Tersangka tindak pidana korupsi (demo)" if citizen else "Pelanggaran izin tinggal (demo)",
                ))
        database = Database(self.central_env["AUTOGATE_CENTRAL_DATABASE_URL"])
        client = self._central_mqtt()
        try:
            with database.session() as session:
                service.import_entries(session, entries, Actor("demo", "admin"), source="demo")
                session.commit()
                from protocol.keys import KeyPair

                key = KeyPair.load(Path(self.central_env["AUTOGATE_CENTRAL_CENTRAL_KEY_FILE"]))
                done = publisher.publish_current(session, key=key, publish=publisher.paho_publisher(client),
                                                 now_ms=int(time.time() * 1000))
                session.commit()
            log.info("demo watchlist: version %d, %d entries published", done.version, done.entries)
        finally:
            client.disconnect()
            client.loop_stop()
            database.dispose()

    def _central_mqtt(self) -> Any:
        import paho.mqtt.client as mqtt

        assert self.broker is not None
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-watchlist-seed")
        client.username_pw_set("central", self.broker_passwords["central"])
        connected = threading.Event()
        client.on_connect = lambda *_: connected.set()
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        if not connected.wait(10):
            raise RuntimeError("demo: could not connect to the embedded broker to publish the watchlist")
        return client

    def _bootstrap_central(self) -> None:
        """Schema, one login per role and the gates' public keys, in-process: one import, not
        a dozen CLI start-ups (the same services the CLI calls)."""
        from central.db import Database
        from central.services import audit, gates

        from simulators.demo_accounts import create_accounts

        database = Database(self.central_env["AUTOGATE_CENTRAL_DATABASE_URL"])
        database.migrate()
        self.gate_keys: dict[str, Path] = {}
        with database.session() as session:
            # One login per role, with the positions its job needs (simulators/demo_accounts.py).
            self.logins.update(create_accounts(session, lambda _username: secrets.token_urlsafe(12)))
            for index, gate in enumerate(self.gate_ids):
                pair = generate_keypair()
                path = self.run_dir / "keys" / f"{gate}.key"
                pair.save(path)
                self.gate_keys[gate] = path
                direction = DIRECTIONS[index % len(DIRECTIONS)]
                gates.add_gate(session, gate, public_key_b64=pair.public.b64, direction=direction, name=f"Gate {index + 1}")
                audit.record(session, audit.Actor("demo", None), "gate_add", f"gate:{gate}", {"direction": direction})
            session.commit()
        database.dispose()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> Child:
        log_path = self.run_dir / "logs" / f"{name}.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def start_central(self) -> None:
        self._spawn("central", _autogate("central", "serve"), self.central_env)
        url = f"http://127.0.0.1:{self.args.http_port}/healthz"
        if not _wait_http(url, 60, self.stop):
            raise RuntimeError(f"central did not answer on {url}; see {self.run_dir / 'logs' / 'central.log'}")
        if self.args.supervisor_bot:
            self.supervisor = SupervisorBot(f"http://127.0.0.1:{self.args.http_port}", "demo_supervisor",
                                            self.logins["demo_supervisor"], self.bot_stop).start()

    def start_gates(self) -> None:
        assert self.broker is not None
        for index, gate in enumerate(self.gate_ids):
            config = {
                "gate_id": gate,
                "direction": DIRECTIONS[index % len(DIRECTIONS)],
                "mqtt": {
                    "host": self.broker.host,
                    "port": self.broker.port,
                    "username": gate,
                    "password": self.broker_passwords[gate],
                },
                "key_file": str(self.gate_keys[gate]),
                "central_public_key": self.central_public_key,
                "data_dir": str(self.run_dir / gate),
                "heartbeat_interval_s": 5,
                # Nobody answers at the gate: the demo supervisor or you, at central's console.
                "simulate_travelers": {"rate_per_min": self.args.rate, "seed": self.args.seed + index,
                                       "supervisor_at_gate": False, "scripted": True,
                                       "render_documents": self.render_documents,
                                       "faces_dir": str(self.args.faces.resolve())},
                # the real engines against central's enrolments; liveness off (still portraits)
                "biometrics": {"fingerprint": "engines", "face": "engines", "require_liveness": False,
                               "central_url": f"http://127.0.0.1:{self.args.http_port}"},
            }
            config_path = self.run_dir / f"{gate}.json"
            config_path.write_text(json.dumps(config, indent=2))
            os.chmod(config_path, 0o600)
            self._spawn(gate, _autogate("edge", "run", "--config", str(config_path)), dict(os.environ))

    # -- shutdown ----------------------------------------------------------------------------
    def _terminate(self, child: Child, timeout_s: float) -> None:
        if child.process.poll() is not None:
            return
        child.process.send_signal(signal.SIGTERM)
        try:
            child.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", child.name, timeout_s)
            child.process.kill()
            child.process.wait(10)

    def shutdown(self) -> None:
        self.stop.set()
        if self.enroller is not None:
            self.enroller.join()
        self.bot_stop.set()
        if self.supervisor is not None:
            self.supervisor.join()
        gates = [c for c in self.children if c.name != "central"]
        for child in gates:  # gates first: they flush their outboxes while central still ingests
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in gates:
            self._terminate(child, 30)
        for child in self.children:
            if child.name == "central":
                self._terminate(child, 30)
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def stats(self) -> dict[str, object]:
        """What central stored, read from its database after every process has stopped."""
        from sqlalchemy import select

        from sqlalchemy import func

        from central.db import Database
        from central.enrolments.models import Enrolment
        from central.models import CommandRecord, GateMessage
        from central.services.stats import stats

        database = Database(self.central_env["AUTOGATE_CENTRAL_DATABASE_URL"])
        try:
            with database.session() as session:
                result = dict(stats(session))
                # A traveler is one gate transaction, however it ended (crossed, refused, held).
                payloads = session.scalars(select(GateMessage.payload).where(GateMessage.kind == "gate_event"))
                result["travelers"] = len({p.get("transaction_id") for p in payloads if p.get("transaction_id")})
                result["enrolments"] = session.scalar(select(func.count()).select_from(Enrolment))
                # decisions the supervisor sent through central, and how the gates answered them
                result["commands"] = dict(session.execute(
                    select(CommandRecord.status, func.count()).group_by(CommandRecord.status)).all())
                result.update(shift_counts(session))
                return result
        finally:
            database.dispose()

    def dead_children(self) -> list[Child]:
        return [c for c in self.children if c.process.poll() is not None]

    def gate_states(self) -> dict[str, str | None]:
        """Each gate's state as central last heard it."""
        from central.db import Database
        from central.models import Gate

        database = Database(self.central_env["AUTOGATE_CENTRAL_DATABASE_URL"])
        try:
            with database.session() as session:
                return {g.id: (g.state or {}).get("state") for g in session.scalars(select_gates())}
        finally:
            database.dispose()

    def wind_down(self, limit_s: float) -> dict[str, str | None]:
        """The end of a timed run: the gates take no new traveller (SIGUSR1), those inside finish
        (the supervisor still answers), and the hall stops once every gate is back in service
        or after *limit_s*. Returns the gates' last states."""
        for child in self.children:
            if child.name != "central" and child.process.poll() is None:
                child.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + limit_s
        states = self.gate_states()
        while time.monotonic() < deadline and not self.stop.is_set():
            states = self.gate_states()
            if all(state == "idle" for state in states.values()):
                break
            self.stop.wait(1.0)
        return states


class Enroller:
    """Passport issuance for the demo's travelers, ahead of their arrival at the gates.

    Each gate's traveler stream is reproducible from its seed, so the same travelers can be
    enrolled here, round robin over the gates in arrival order, ``per_gate`` of each: a
    traveler who arrives before their enrolment is written is "not enrolled" at the gate and is
    sent to the counter, as at a real gate.
    """

    def __init__(self, database_url: str, seeds: list[int], *, per_gate: int, stop: threading.Event,
                 faces_dir: Path | None = None) -> None:
        self.database_url, self.seeds, self.per_gate, self.stop = database_url, seeds, per_gate, stop
        self.faces_dir = faces_dir
        self.enrolled = 0
        self._thread = threading.Thread(target=self._run, name="demo-enroller", daemon=True)

    def start(self) -> Enroller:
        self._thread.start()
        return self

    def join(self, timeout_s: float = 10.0) -> None:
        self._thread.join(timeout_s)

    def _run(self) -> None:
        import base64
        from datetime import date

        from central.db import Database
        from central.enrolments import service
        from central.services.audit import Actor
        from edge.face import FaceEngine
        from edge.fingerprint import FingerprintEngine
        from simulators.faces import FaceBook
        from simulators.fingerprints import enrolment_press
        from simulators.travelers import demo_stream

        engine = FingerprintEngine.from_models()
        faces = FaceBook.load(self.faces_dir) if self.faces_dir is not None else None
        face_engine = FaceEngine.from_models() if faces is not None else None
        streams = [demo_stream(seed, today=date.today()) for seed in self.seeds]
        database = Database(self.database_url)
        actor = Actor("demo-issuance", "backoffice", None)
        try:
            for _ in range(self.per_gate):
                for stream in streams:
                    if self.stop.is_set():
                        return
                    traveler = next(stream)
                    template = engine.extract(enrolment_press(traveler))
                    document = traveler.document()
                    record = {
                        **document.model_dump(mode="json", exclude={"document_type"}),
                        "document_type": "P",
                        "fingerprint_iso": base64.b64encode(engine.to_iso(template)).decode("ascii"),
                        "finger_position": 2,
                    }
                    if faces is not None and face_engine is not None:  # the issuance photo's template
                        face = face_engine.template(faces.enrolment_photo(traveler.traveler_id))
                        record["face_template"] = base64.b64encode(face.embedding.astype("<f4").tobytes()).decode()
                        record["face_model"] = face_engine.embedder_name
                        record["face_model_version"] = face_engine.embedder_version
                    with database.session() as session:
                        service.create(session, record, actor, source="issuance")
                        session.commit()
                    self.enrolled += 1
        except Exception:  # the demo goes on: unenrolled travelers are sent to the counter
            log.exception("demo enrolment stopped")
        finally:
            database.dispose()


def select_gates() -> Any:
    from sqlalchemy import select

    from central.models import Gate

    return select(Gate).order_by(Gate.id)


def shift_counts(session: Any) -> dict[str, object]:
    """What a supervisor's shift saw: travellers held, held travellers released to officers,
    referrals to the counter, retries granted, and face verifications that really failed."""
    from collections import Counter

    from sqlalchemy import select

    from central.models import Alert, GateMessage

    events: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    face_mismatches = 0
    for payload in session.scalars(select(GateMessage.payload).where(GateMessage.kind == "gate_event")):
        name = payload.get("event")
        events[name] += 1
        details = payload.get("details") or {}
        if name == "transaction_ended":
            outcomes[str(details.get("outcome") or payload.get("reason"))] += 1
        if name == "supervisor_notified" and details.get("step") == "face" and details.get("face_match") is False \
                and not details.get("face_refused"):
            face_mismatches += 1  # the engine compared and said no: not a capture refusal
    held = {(a.gate_id, (a.details or {}).get("transaction_id")) for a in
            session.scalars(select(Alert).where(Alert.kind == "watchlist_hold"))}
    return {
        "holds": len(held),
        "releases": events["held_released"],
        "referrals": outcomes["referred_to_counter"],
        "retries": events["retry_granted"],
        "face_mismatches": face_mismatches,
        "outcomes": dict(sorted(outcomes.items())),
    }


def _banner(hall: Hall) -> str:
    lines = [
        "",
        "autogate demo is running",
        f"  console:  http://127.0.0.1:{hall.args.http_port}/  (supervisor console at /console)",
        f"  broker:   mqtt://{hall.broker.host}:{hall.broker.port} (per-process accounts)" if hall.broker else "",
        f"  gates:    {', '.join(hall.gate_ids)}",
        f"  logs:     {hall.run_dir / 'logs'}",
        "  logins (generated for this run):",
    ]
    width = max(len(name) for name in hall.logins)
    from simulators.demo_accounts import DEMO_ACCOUNTS

    jobs = {account.username: account.job for account in DEMO_ACCOUNTS}
    lines += [f"    {name.ljust(width)}  {password}  ({jobs.get(name, '')})" for name, password in hall.logins.items()]
    if not hall.args.supervisor_bot:
        lines.append("  no supervisor bot: every retry, referral and release is yours, as demo_supervisor at /console")
    lines.append("  stop with Ctrl-C" if not hall.args.seconds else f"  stopping by itself after {hall.args.seconds:g} s")
    return "\n".join(line for line in lines if line != "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autogate demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: until Ctrl-C)")
    parser.add_argument("--gates", type=int, default=4, help="number of simulated gates")
    parser.add_argument("--rate", type=float, default=30.0, help="travelers per minute per gate (a busy hall)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the traveler streams")
    parser.add_argument("--no-supervisor-bot", dest="supervisor_bot", action="store_false",
                        help="leave every retry, referral and release to you at the console "
                             "(default: demo_supervisor answers)")
    parser.add_argument("--enrol-ahead", type=int, default=60,
                        help="travelers per gate enrolled at central (finger and face) ahead of their arrival")
    parser.add_argument("--http-port", type=int, default=8000, help="central's HTTP port")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES_DIR,
                        help="folder of face photos (one sub-folder or file-name stem per person; default: the "
                             "public-domain portraits in simulators/faces)")
    parser.add_argument("--wind-down", type=float, default=90.0,
                        help="with --seconds: how long the travellers inside may take to finish at the end")
    parser.add_argument("--workdir", type=Path, default=Path(".autogate-demo"), help="keys, databases and logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("amqtt").setLevel(logging.ERROR)
    logging.getLogger("transitions").setLevel(logging.ERROR)
    logging.getLogger("central.services.audit").setLevel(logging.WARNING)  # one line per demo enrolment

    try:
        check_port_free("127.0.0.1", args.http_port)
        from simulators.faces import FaceBook

        FaceBook.load(args.faces)
    except (PortBusy, ValueError, OSError) as exc:
        print(f"autogate demo: {exc}", file=sys.stderr, flush=True)
        return 2
    hall = Hall(args)

    def on_signal(*_: object) -> None:
        # Set from a thread: Event.set() in a handler can deadlock on the Event's own lock.
        threading.Thread(target=hall.stop.set, name="stop-signal", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    summary: dict[str, object] = {}
    ending: dict[str, str | None] | None = None  # the gates' states after the wind-down
    code = 0
    try:
        hall.prepare()
        hall.start_broker()
        hall.setup_central()
        hall.start_central()
        hall.start_gates()
        print(_banner(hall), flush=True)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while not hall.stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                ending = hall.wind_down(args.wind_down)
                break
            dead = hall.dead_children()
            if dead:
                names = ", ".join(f"{c.name} (exit {c.process.returncode}, log {c.log_path})" for c in dead)
                log.error("demo process died: %s", names)
                code = 1
                break
            hall.stop.wait(0.5)
    except Exception as exc:  # report any setup failure in one line, then clean up below
        log.error("demo failed: %s", exc)
        code = 1
    finally:
        hall.shutdown()
    try:
        summary = {**hall.stats(), **({"gate_states_at_end": ending} if ending is not None else {})}
    except Exception as exc:
        log.error("could not read the demo database: %s", exc)
        code = code or 1
    if ending is not None:
        summary["gates_in_service_at_end"] = sum(1 for state in ending.values() if state == "idle")
    summary.setdefault("gates", len(hall.gate_ids))
    summary["url"] = f"http://127.0.0.1:{args.http_port}/"
    print(json.dumps(summary, sort_keys=True), flush=True)
    return code
