"""One gate process for the chaos suite: the real gate (outbox, MQTT link, runtime, simulated
doors) walked by the simulators' ``GateDriver`` as fast as the CPU allows.

``python -m chaos.gate --config gate.json --journal crossings.log --count N`` plays travelers
until N crossings are journalled (counting lines already in the journal, so a restart after a
kill carries on), then holds the link open, answering central's resend requests, until SIGTERM.

The journal is the ground truth the suite checks central against: one transaction id per
line, written and fsynced after the gate's outbox committed the crossing (``publish_event``
returned). ``--kill-at STEP --kill-on K`` makes the process SIGKILL itself at STEP of writing
its K-th crossing this run, so every step of "write a crossing" is interrupted exactly once:

    before_append   the exit decision is made, nothing is written yet
    in_commit       the outbox row is INSERTed, its COMMIT is about to run
    after_append    the outbox committed the row; the journal has not heard of it
    before_puback   the broker acknowledged the row; the outbox has not marked it delivered
    after_puback    the outbox marked it delivered
    inside          a traveler stands in the mantrap (mid-transaction), fingerprint next
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path

STEPS = ("before_append", "in_commit", "after_append", "before_puback", "after_puback", "inside")
log = logging.getLogger("chaos.gate")


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Journal:
    """Crossings the gate committed, one transaction id a line, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = len(read_journal(path))
        self._file = open(path, "a", encoding="ascii")  # noqa: SIM115 - kept for the process's life

    def record(self, transaction_id: str) -> None:
        self._file.write(transaction_id + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.count += 1


def read_journal(path: Path) -> list[str]:
    if not path.exists():
        return []
    # A kill can cut the last line: only whole lines count (the outbox still has that crossing).
    text = path.read_text(encoding="ascii", errors="replace")
    return [line for line in text.split("\n")[:-1] if line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.gate")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True, help="crossings to journal in all (over restarts)")
    parser.add_argument("--skew-s", type=float, default=0.0, help="the gate's clock is this far off")
    parser.add_argument("--kill-at", choices=STEPS)
    parser.add_argument("--kill-on", type=int, default=1, help="the K-th crossing of this run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pace-s", type=float, default=0.0, help="pause between travelers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from edge.gate.config import GateConfig
    from edge.gate.machine import GateMachine
    from edge.gate.recognition import Recognition
    from edge.gate.runtime import GateRuntime
    from edge.hardware.clock import ManualScheduler
    from edge.hardware.simulated import SimulatedGateHardware
    from edge.link.assembly import build_link, load_keys, open_outbox
    from edge.link.outbox import OutboxError
    from edge.settings import EdgeSettings
    from protocol.messages import CrossingRecord
    from simulators.travelers import GateDriver, make_traveler

    settings = EdgeSettings(**json.loads(args.config.read_text()))
    skew_ms = int(args.skew_s * 1000)

    def clock_ms() -> int:
        return time.time_ns() // 1_000_000 + skew_ms

    key, central_key = load_keys(settings)
    outbox = open_outbox(settings, key, clock_ms=clock_ms)
    link = build_link(settings, key=key, central_key=central_key, outbox=outbox, clock_ms=clock_ms)
    journal = Journal(args.journal)
    run_crossings = 0
    arm = threading.Event()  # set while the K-th crossing of this run is being written
    armed_seq: list[int] = []

    original_publish = link.publish_event
    original_append = outbox.append
    original_mark = outbox.mark_delivered_many

    def publish_event(payload):  # type: ignore[no-untyped-def]
        nonlocal run_crossings
        if not isinstance(payload, CrossingRecord):
            return original_publish(payload)
        run_crossings += 1
        target = args.kill_at is not None and run_crossings == args.kill_on
        if target and args.kill_at == "before_append":
            _die()
        if target:
            arm.set()
        original_publish(payload)
        if target and args.kill_at == "after_append":
            _die()
        journal.record(payload.transaction_id)
        return None

    def append(payload):  # type: ignore[no-untyped-def]
        row = original_append(payload)
        if arm.is_set() and isinstance(payload, CrossingRecord):
            armed_seq.append(row.seq)
        return row

    def mark_delivered_many(seqs):  # type: ignore[no-untyped-def]
        hit = bool(armed_seq) and armed_seq[0] in seqs
        if hit and args.kill_at == "before_puback":
            _die()
        changed = original_mark(seqs)
        if hit and args.kill_at == "after_puback":
            _die()
        return changed

    def trace(statement: str) -> None:  # runs inside sqlite, before each statement
        if arm.is_set() and args.kill_at == "in_commit" and statement.startswith("COMMIT"):
            _die()

    link.publish_event = publish_event  # type: ignore[method-assign]
    outbox.append = append  # type: ignore[method-assign]
    outbox.mark_delivered_many = mark_delivered_many  # type: ignore[method-assign]
    if args.kill_at == "in_commit":
        outbox._db.set_trace_callback(trace)  # noqa: SLF001 - the one way to stop between INSERT and COMMIT

    scheduler = ManualScheduler()
    hardware = SimulatedGateHardware(scheduler=scheduler)
    runtime = GateRuntime(
        GateMachine(GateConfig(gate_id=settings.gate_id, direction=settings.direction)),
        hardware=hardware, link=link, recognition=Recognition(), scheduler=scheduler,
        time_origin_ms=clock_ms(),
    )
    if args.kill_at == "inside":
        original_place = runtime.place_finger

        def place_finger(sample):  # type: ignore[no-untyped-def]
            if run_crossings + 1 == args.kill_on:
                _die()
            return original_place(sample)

        runtime.place_finger = place_finger  # type: ignore[method-assign]

    stop, finish = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # SIGUSR1: take no more travelers (the one inside finishes), keep the link open
    signal.signal(signal.SIGUSR1, lambda *_: finish.set())
    runtime.start()
    link.start()
    driver = GateDriver(runtime, hardware, scheduler)
    rng = random.Random(f"{settings.gate_id}-{args.seed}-{journal.count}")
    index = 0
    today = date.today()
    disk_errors = officer_waits = resets = 0
    try:
        while journal.count < args.count and not stop.is_set() and not finish.is_set():
            if runtime.state != "idle":
                driver.advance(0.5)  # the gate's own timers recover most states
                if runtime.state in ("fault", "out_of_service"):
                    officer_waits += 1
                    if officer_waits % 4 == 0:  # an officer comes by every few seconds and resets it
                        try:
                            driver.command("reset", reason="chaos: officer reset")
                            driver.command("back_in_service", reason="chaos: officer")
                        except OutboxError as exc:  # still no room for the acknowledgement
                            log.error("gate %s: %s", settings.gate_id, exc)
                        resets += 1
                    stop.wait(0.5)
                continue
            index += 1
            traveler = make_traveler(rng, index, today=today, foreign=False, expired=False, document_readable=True,
                                     finger_samples=("genuine",), face_samples=("genuine",))
            try:
                driver.run_traveler(traveler)
            except OutboxError as exc:  # an officer's command whose acknowledgement found the disk full
                disk_errors += 1
                log.error("gate %s: %s", settings.gate_id, exc)
                stop.wait(0.2)
            except RuntimeError as exc:  # a simulated traveler who never finishes (as in `edge run`)
                log.warning("gate %s: simulated traveler stuck: %s", settings.gate_id, exc)
            if args.pace_s:
                finish.wait(args.pace_s)
        args.journal.with_suffix(".done").write_text(str(journal.count))
        print(json.dumps({"gate_id": settings.gate_id, "journal": journal.count, "disk_errors": disk_errors,
                          "officer_resets": resets}),
              flush=True)
        stop.wait()  # hold: central may still ask for a resend
    finally:
        runtime.stop()
        link.wait_for_drained(5)
        link.close()
        hardware.close()
        outbox.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
