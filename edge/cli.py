"""``autogate edge ...``: run one gate process, or inspect and exercise its link.

    autogate edge run [--config gate.toml]          the gate: hardware + machine + link, until SIGTERM
    autogate edge emit --config gate.json --count N  test traffic: queue N events, wait until delivered
    autogate edge outbox [--config gate.toml]        how many events wait in the outbox, last seq

Settings come from the file, then ``AUTOGATE_EDGE_*`` variables override it (edge/settings.py).
``main()`` builds the whole object graph once (settings -> keys -> outbox -> link -> hardware ->
local watchlist -> runtime) and tears it down in reverse on SIGTERM/SIGINT: the runtime stops
taking input, the hardware closes safe (its adapter's ``close()``) before anything else can
delay it, the outbox gets a bounded chance to drain, the link announces offline, and the outbox
file keeps anything unsent for the next start.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_HARDWARE = 3
SHUTDOWN_DRAIN_S = 5.0  # on SIGTERM, how long events may take to reach the broker before we stop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate edge", description="Run one gate process or inspect its link.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (.toml or .json); env AUTOGATE_EDGE_* overrides it")
    common.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub.add_parser("run", parents=[common], help="run the gate until SIGTERM/SIGINT")
    emit = sub.add_parser("emit", parents=[common], help="queue test events through the outbox and deliver them")
    emit.add_argument("--count", type=int, default=10, help="events to queue (0: only deliver what is queued)")
    emit.add_argument("--interval-ms", type=float, default=0.0, help="pause between events, like a gate's pace")
    emit.add_argument("--hold", action="store_true", help="stay connected after delivering, until a signal")
    emit.add_argument("--timeout-s", type=float, default=60.0, help="give up waiting for delivery after this")
    outbox = sub.add_parser("outbox", parents=[common], help="print the outbox depth and last seq as JSON")
    outbox.add_argument("--compact", action="store_true", help="also delete delivered rows past retention")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("edge.link.paho").setLevel(logging.WARNING)
    from edge.hardware.errors import HardwareError
    from edge.link.errors import LinkError
    from edge.settings import load_settings

    try:
        settings = load_settings(args.config)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"autogate edge: invalid settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.command == "outbox":
            return _outbox(settings, compact=args.compact)
        with _stop_on_signals() as stop:
            if args.command == "run":
                return _run(settings, stop)
            return _emit(
                settings,
                stop,
                count=args.count,
                interval_s=args.interval_ms / 1000,
                hold=args.hold,
                timeout_s=args.timeout_s,
            )
    except LinkError as exc:
        print(f"autogate edge: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except HardwareError as exc:
        print(f"autogate edge: hardware unavailable: {exc}", file=sys.stderr)
        return EXIT_HARDWARE


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An Event set by SIGTERM/SIGINT; the previous handlers come back afterwards."""
    stop = threading.Event()

    def handler(*_: object) -> None:
        # Event.set() takes the Event's non-reentrant lock; a signal landing while the main
        # thread holds it (inside wait()) would deadlock the handler. Set it from a thread.
        threading.Thread(target=stop.set, name="stop-signal", daemon=True).start()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _link(settings: Any) -> Iterator[tuple[Any, Any, Any]]:
    """Keys, outbox and an unstarted link; on exit the link closes before the outbox."""
    from autogate import __version__
    from edge.link.assembly import build_link, load_keys, open_outbox

    key, central_key = load_keys(settings)
    with ExitStack() as stack:
        outbox = stack.enter_context(open_outbox(settings, key))
        link = build_link(settings, key=key, central_key=central_key, outbox=outbox, software_version=__version__)
        stack.callback(link.close)
        yield link, outbox, central_key, key


def _run(settings: Any, stop: threading.Event) -> int:
    from edge.gate.clock import MonotonicScheduler
    from edge.gate.config import GateConfig
    from edge.gate.machine import GateMachine
    from edge.gate.runtime import GateRuntime

    simulate = settings.simulate_travelers.rate_per_min > 0
    with ExitStack() as stack:
        if simulate:
            scheduler = _paced_scheduler(stop)
        else:
            scheduler = MonotonicScheduler(name=f"gate-{settings.gate_id}-timers")
            stack.callback(scheduler.close)  # last out: hardware and runtime may still cancel timers
        link, outbox, central_key, key = stack.enter_context(_link(settings))
        removed = outbox.compact()
        log.info(
            "gate_id=%s outbox %s: depth=%d last_seq=%d compacted=%d",
            settings.gate_id,
            outbox.path,
            outbox.depth,
            outbox.last_seq,
            removed,
        )

        def drain() -> None:
            if link.is_connected and not link.wait_for_drained(SHUTDOWN_DRAIN_S):
                log.warning(
                    "gate_id=%s: %d events stay in the outbox for the next start", settings.gate_id, outbox.depth
                )

        # ExitStack unwinds in reverse: travelers, runtime, hardware (doors safe first), drain, link, outbox.
        stack.callback(drain)
        hardware = _build_hardware(settings, scheduler)
        stack.callback(hardware.close)
        machine = GateMachine(GateConfig(gate_id=settings.gate_id, direction=settings.direction))
        # The runtime counts time on the monotonic scheduler; records and command expiry need wall time.
        origin_ms = time.time_ns() // 1_000_000 - int(scheduler.now_s() * 1000)
        runtime = GateRuntime(
            machine,
            hardware=hardware,
            link=link,
            recognition=_recognition(settings, stack, watchlist=_watchlist(settings, link, central_key),
                                     key=key, central_key=central_key),
            scheduler=scheduler,
            time_origin_ms=origin_ms,
        )
        runtime.start()
        stack.callback(runtime.stop)
        if not simulate:
            _start_stations(settings, runtime, stack)  # before the link: a gate online takes travelers
        link.start()
        if simulate:
            stack.callback(_start_travelers(settings, runtime, hardware, scheduler, stop))
        log.info(
            "gate_id=%s running (%s hardware, %s)", settings.gate_id, settings.hardware.kind, settings.direction.value
        )
        stop.wait()
        log.info("gate_id=%s stopping", settings.gate_id)
    return 0


def _recognition(settings: Any, stack: ExitStack, *, watchlist: Any, key: Any, central_key: Any) -> Any:
    """The gate's recognition steps: real MRZ parsing, document checks and local screening
    always; each biometric on its engine against central's enrolments, or simulated (demo
    travelers carry a "genuine"/"mismatch" flag for it instead of a capture)."""
    from edge.gate.recognition import (
        CameraMrzReader,
        PolicyDocumentChecker,
        Recognition,
        SimulatedVerifier,
        WorkerRunner,
    )

    bio = settings.biometrics
    simulate = settings.simulate_travelers.rate_per_min > 0
    checker = PolicyDocumentChecker(settings.documents.policy(str(settings.direction)))
    if simulate:
        # inline: a simulated hall replays a seed the same way
        recognition = Recognition(watchlist=watchlist, checker=checker)
        if settings.simulate_travelers.render_documents:
            recognition.reader = CameraMrzReader()  # the rendered data page, read by the real reader
    else:
        runner = WorkerRunner(name=f"gate-{settings.gate_id}-recognition")
        stack.callback(runner.close)
        recognition = Recognition(reader=CameraMrzReader(), watchlist=watchlist, runner=runner, checker=checker)
    for name in ("fingerprint", "face"):
        if getattr(bio, name) == "simulated":
            log.warning("gate_id=%s: %s verification SIMULATED (demo/test travelers only)", settings.gate_id, name)
            setattr(recognition, name, SimulatedVerifier(name))
    if "engines" not in (bio.fingerprint, bio.face):
        return recognition

    from edge.gate.biometrics import FaceVerifier, FingerprintVerifier, Prefetcher
    from edge.gate.enrolment_client import EnrolmentClient

    if bio.central_url is None or central_key is None:
        # demo_mode without central: every biometric step fails closed (to the counter).
        log.error("gate_id=%s: no central_url/central key: biometric steps will send travelers to the counter",
                  settings.gate_id)
        enrolments: Any = _NoEnrolments()
    else:
        enrolments = EnrolmentClient(bio.central_url, gate_id=settings.gate_id, gate_key=key, central_key=central_key,
                                     budget_s=bio.fetch_budget_ms / 1000, ttl_s=bio.cache_ttl_s,
                                     cache_size=bio.cache_size)
    prefetch = Prefetcher(enrolments)
    stack.callback(prefetch.close)
    recognition.on_document_read = prefetch
    if bio.fingerprint == "engines":
        from edge.fingerprint import FingerprintEngine

        finger = FingerprintEngine.from_models()
        recognition.fingerprint = FingerprintVerifier(finger, enrolments)
        log.info("gate_id=%s: fingerprint engine, threshold %.4f", settings.gate_id, finger.threshold)
    if bio.face == "engines":
        from edge.face import FaceEngine

        face = FaceEngine.from_models(embedder_model=bio.face_embedder, detector_input_px=bio.face_detector_input_px)
        recognition.face = FaceVerifier(face, enrolments, require_liveness=bio.require_liveness)
        log.info("gate_id=%s: face engine %s, threshold %.4f", settings.gate_id, face.embedder_name, face.threshold)
    return recognition


def _start_stations(settings: Any, runtime: Any, stack: ExitStack) -> None:
    """Open the traveler's devices and feed them to the runtime (closed in reverse on exit)."""
    from edge.gate.stations import OpenCvCamera, Stations

    cfg = settings.stations
    if not cfg.any:
        log.warning("gate_id=%s: no traveler stations configured (stations.*): only supervisor commands act",
                    settings.gate_id)
        return
    reader = sensor = camera = None
    if cfg.passport_reader_port:
        from edge.hardware.passport_reader import PassportReader

        reader = stack.enter_context(PassportReader.open(cfg.passport_reader_port, baudrate=cfg.passport_reader_baudrate))
    if cfg.fingerprint_sensor_port:
        from edge.hardware.fingerprint_sensor import FingerprintSensor

        sensor = stack.enter_context(
            FingerprintSensor.open(cfg.fingerprint_sensor_port, baudrate=cfg.fingerprint_sensor_baudrate))
        sensor.handshake()
    if cfg.camera:
        camera = OpenCvCamera(cfg.camera)
        stack.callback(camera.close)
    stations = Stations(runtime, reader=reader, sensor=sensor, camera=camera, images=settings.images, burst_frames=cfg.face_burst_frames,
                        burst_s=cfg.face_burst_s).start()
    stack.callback(stations.close)
    log.info("gate_id=%s stations: passport reader %s, fingerprint sensor %s, camera %s", settings.gate_id,
             cfg.passport_reader_port or "-", cfg.fingerprint_sensor_port or "-", cfg.camera or "-")


class _NoEnrolments:
    def fetch(self, document_number: str, issuing_state: str) -> Any:
        from edge.gate.enrolment_client import EnrolmentLookup

        return EnrolmentLookup("unavailable", reason="no central_url configured")


def _watchlist(settings: Any, link: Any, central_key: Any) -> Any:
    """The gate's local watchlist, kept at central's version by ``WatchlistSync`` over the link.

    The gate screens with its own copy whether or not central is reachable; each install is
    reported in the heartbeat and acknowledged durably (``WatchlistAck``).
    """
    from edge.gate.recognition import ScreenerWatchlist
    from edge.link.flags_sync import SUBSCRIPTIONS as FLAG_SUBSCRIPTIONS
    from edge.link.flags_sync import PersonFlagsSync
    from edge.link.outbox import wall_clock_ms
    from edge.link.watchlist_sync import SUBSCRIPTIONS, WatchlistSync, link_reporter
    from edge.watchlist.errors import WatchlistError
    from edge.watchlist.local import LocalWatchlist
    from edge.watchlist.snapshot import WatchlistSnapshot

    path = settings.watchlist_path
    try:
        local = LocalWatchlist.load(path) if path.exists() else LocalWatchlist(WatchlistSnapshot(version=0), path=path)
    except (WatchlistError, OSError, ValueError) as exc:
        # Screening with nothing is visible to central (version 0 in every heartbeat) and is
        # fixed by the next snapshot; refusing to start would leave the hall short of a gate.
        log.error("gate_id=%s: local watchlist %s unusable (%s); starting from version 0", settings.gate_id, path, exc)
        local = LocalWatchlist(WatchlistSnapshot(version=0), path=path)
    # People a CCTV operator confirmed and flagged to every gate: a similar hit on them holds.
    flags = PersonFlagsSync(central_key, clock_ms=wall_clock_ms)
    link.on_messages(FLAG_SUBSCRIPTIONS, flags.handle)
    screening = ScreenerWatchlist(local, version=local.version, escalate=flags.escalate)
    report = link_reporter(link)

    def installed(version: int, sha256: str) -> None:
        screening.version = version
        report(version, sha256)

    sync = WatchlistSync(local, central_key, clock_ms=wall_clock_ms, on_installed=installed)
    link.on_messages(SUBSCRIPTIONS, sync.handle)
    sync.report()  # the version in force: heartbeat figure and a durable WatchlistAck
    log.info("gate_id=%s screening with watchlist version %d (%s)", settings.gate_id, local.version, path)
    return screening


def _build_hardware(settings: Any, scheduler: Any) -> Any:
    hw = settings.hardware
    if hw.kind == "simulated":
        from edge.hardware.simulated import SimulatedGateHardware

        return SimulatedGateHardware(
            door_move_s=hw.door_move_s,
            door_move_timeout_s=hw.door_move_timeout_s,
            scheduler=scheduler,
            zone_beams=hw.zone_beams,
        )
    if hw.kind == "gpio":
        from edge.hardware.gpio import GpioGateHardware

        if hw.pin_factory:
            import os

            # gpiozero reads its default pin factory from this variable when the first device is made.
            os.environ["GPIOZERO_PIN_FACTORY"] = hw.pin_factory
        return GpioGateHardware(hw.pins, scheduler=scheduler)
    from edge.hardware.doorboard.device import DoorBoardGateHardware

    return DoorBoardGateHardware(
        port=hw.port, baudrate=hw.baudrate, zone_beams=hw.zone_beams, timeout_s=hw.timeout_s, scheduler=scheduler
    )


class _DemoStopped(Exception):
    """The process is stopping; unwinds the traveler driver from inside a clock advance."""


def _paced_scheduler(stop: threading.Event) -> Any:
    """The demo's clock: the traveler driver moves it, at wall-clock pace.

    ``simulators.travelers.GateDriver`` plays travelers by advancing a ``ManualScheduler``; waiting
    the same time on the stop Event first makes door moves and timeouts take real seconds, so a
    console watching the demo sees a gate behave like a gate, and SIGTERM interrupts at once.
    """
    from edge.hardware.clock import ManualScheduler

    class PacedScheduler(ManualScheduler):
        def advance(self, seconds: float) -> None:
            if stop.wait(max(0.0, seconds)):
                raise _DemoStopped
            super().advance(seconds)

    return PacedScheduler()


def _start_travelers(settings: Any, runtime: Any, hardware: Any, scheduler: Any, stop: threading.Event) -> Any:
    """Walk simulated travelers through the gate on a thread; returns a function that joins it."""
    import random
    from datetime import date

    from simulators.travelers import GateDriver, demo_stream, traveler_stream

    sim = settings.simulate_travelers
    driver = GateDriver(runtime, hardware, scheduler)
    if not sim.supervisor_at_gate:
        driver.supervisor = None  # supervisors answer through central (the demo's SupervisorBot, or you)
    if settings.biometrics.fingerprint == "engines":
        from simulators.fingerprints import traveler_finger

        driver.render_finger = traveler_finger  # a synthetic press for the real matcher
    faces = None
    if sim.faces_dir is not None:
        from simulators.faces import FaceBook

        faces = FaceBook.load(sim.faces_dir)
        driver.render_face = faces.capture  # the camera's burst of the traveller's (or an impostor's) face
        log.info("gate_id=%s: simulated camera: faces from %s (%d people)", settings.gate_id, sim.faces_dir,
                 len(faces.names))
    if sim.render_documents:
        from simulators.passports import presented_passport

        driver.render_document = lambda traveler: presented_passport(
            traveler, faces.enrolment_photo(traveler.traveler_id) if faces else None)
        log.info("gate_id=%s: simulated passports: rendered data pages read by the MRZ reader", settings.gate_id)
    gaps = random.Random(sim.seed)
    stream = demo_stream(sim.seed, today=date.today()) if sim.scripted else traveler_stream(sim.seed, today=date.today())
    draining = threading.Event()

    def drain(*_: object) -> None:  # SIGUSR1: the demo is ending; finish the traveller inside, take no more
        threading.Thread(target=draining.set, name="drain-signal", daemon=True).start()

    signal.signal(signal.SIGUSR1, drain)

    def drive() -> None:
        try:
            while not stop.is_set():
                scheduler.advance(gaps.expovariate(sim.rate_per_min / 60.0))
                if draining.is_set():
                    continue  # the clock still runs: the gate's timers and officers' commands act
                if runtime.state != "idle":
                    continue  # out of service, emergency: the gate waits for its officers
                try:
                    # A held traveller waits for the officer's release, however long, then leaves.
                    outcome = driver.run_traveler(next(stream), stop_when_held=False)
                except RuntimeError as exc:  # a traveler who never finishes; the gate's timeouts recover
                    log.warning("gate_id=%s: simulated traveler stuck: %s", settings.gate_id, exc)
                    continue
                log.info("gate_id=%s: simulated traveler done: %s", settings.gate_id, outcome)
        except _DemoStopped:
            return

    thread = threading.Thread(target=drive, name=f"travelers-{settings.gate_id}", daemon=True)
    thread.start()
    log.info("gate_id=%s: simulating %.1f travelers per minute (seed %d)", settings.gate_id, sim.rate_per_min, sim.seed)
    return lambda: thread.join(timeout=5.0)


def _emit(settings: Any, stop: threading.Event, *, count: int, interval_s: float, hold: bool, timeout_s: float) -> int:
    """Queue *count* test events (each line printed is on disk), deliver them, optionally stay online."""
    from protocol.messages import GateEvent

    with _link(settings) as (link, outbox, _, _key):
        link.start()
        append_ms: list[float] = []
        started = time.perf_counter()
        for i in range(count):
            if stop.is_set():
                return 1
            before = time.perf_counter()
            link.publish_event(GateEvent(event="test_traffic", details={"i": i}))
            append_ms.append((time.perf_counter() - before) * 1000)
            # Single writer here, so the newest seq is this event's; the line means "on disk".
            print(f"queued seq={outbox.last_seq}", flush=True)
            if interval_s > 0 and stop.wait(interval_s):
                return 1
        delivered = link.wait_for_drained(timeout_s)
        elapsed_s = time.perf_counter() - started
        print(
            f"delivered={str(delivered).lower()} depth={outbox.depth} last_seq={outbox.last_seq} "
            f"{_emit_figures(append_ms, elapsed_s)}",
            flush=True,
        )
        if hold:
            stop.wait()
        return 0 if delivered else 1


def _emit_figures(append_ms: list[float], elapsed_s: float) -> str:
    """Append latency (seal + fsynced commit) and end-to-end rate, for the docs' figures."""
    if not append_ms:
        return ""
    ordered = sorted(append_ms)
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    rate = len(append_ms) / elapsed_s if elapsed_s > 0 else 0.0
    return f"append_p50_ms={p50:.2f} append_p99_ms={p99:.2f} events_per_s={rate:.0f} elapsed_s={elapsed_s:.2f}"


def _outbox(settings: Any, *, compact: bool) -> int:
    from edge.link.assembly import load_keys, open_outbox

    key, _ = load_keys(settings)
    with open_outbox(settings, key) as outbox:
        removed = outbox.compact() if compact else 0
        pending = outbox.pending(1)
        report = {
            "gate_id": settings.gate_id,
            "path": str(outbox.path),
            "depth": outbox.depth,
            "last_seq": outbox.last_seq,
            "oldest_pending_created_at_ms": pending[0].created_at_ms if pending else None,
            "compacted": removed,
        }
    print(json.dumps(report, sort_keys=True))
    return 0
