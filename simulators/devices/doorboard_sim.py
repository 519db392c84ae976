"""The door board simulator: our real firmware (firmware/main.py) on a fake ``machine``, a
simulated door plant, and a pty standing in for the serial cable.

    with DoorBoardSimulator(door_move_ms=50) as sim:
        hw = DoorBoardGateHardware.open(sim.port_name)
        sim.plant.fire_alarm()          # the world acts through the plant

Run ``python -m simulators.devices.doorboard_sim`` to serve one on a pty until Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import types
from collections.abc import Callable

from firmware import board_config, main as firmware_main
from firmware.doorboard import DoorBoard
from simulators.devices.door_plant import DoorPlant
from simulators.devices.fake_machine import FakeMachine
from simulators.devices.pty_port import PtyPort

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.monotonic() * 1000) % (1 << 30)


class DoorBoardSimulator:
    """One simulated door board on a pty, running the firmware loop in a thread.

    :param door_move_ms: full stroke time of the simulated doors (SOP: 1000 ms).
    :param watchdog_ms: firmware's edge watchdog.
    :param move_timeout_ms: firmware's jam timeout.
    :param resend_ms: firmware's event retransmission interval.
    """

    def __init__(self, *, door_move_ms: int = 1000, watchdog_ms: int = 1500, move_timeout_ms: int = 3000,
                 resend_ms: int = 200) -> None:  # fmt: skip
        self.config = types.SimpleNamespace(
            **{k: getattr(board_config, k) for k in dir(board_config) if k.isupper()}
        )
        self.config.WATCHDOG_MS = watchdog_ms
        self.config.MOVE_TIMEOUT_MS = move_timeout_ms
        self.config.RESEND_MS = resend_ms
        self.door_move_ms = door_move_ms
        self.machine = FakeMachine()
        self.pty = PtyPort()
        self.stopping = threading.Event()
        with self.machine.installed():
            self.board: DoorBoard = firmware_main.build(self.pty, now_ms=_now_ms(), config=self.config)
        self.plant = DoorPlant(self.machine, self.config, door_move_ms=door_move_ms)
        self._thread = threading.Thread(target=self._run, name="doorboard-sim", daemon=True)
        self._started = False
        self._watches: list[tuple[Callable[[], bool], threading.Event]] = []
        self._watch_lock = threading.Lock()

    @property
    def port_name(self) -> str:
        return self.pty.port_name

    def start(self) -> DoorBoardSimulator:
        self._started = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._started:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                raise RuntimeError("door board simulator thread did not stop")
        self.pty.close()

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Wait until ``predicate()`` holds after a firmware loop pass; False on timeout."""
        done = threading.Event()
        with self._watch_lock:
            self._watches.append((predicate, done))
        try:
            return done.wait(timeout_s)
        finally:
            with self._watch_lock:
                self._watches.remove((predicate, done))

    def set_beam(self, index: int, blocked: bool, timeout_s: float = 5.0) -> None:
        """Block or clear beam ``index`` (0 entry doorway, 1..n zone, n+1 exit doorway) and wait
        until the firmware has sampled it, as a walking body would be long enough to be seen."""
        self.board.beams[index].drive(blocked)
        if not self.wait_until(lambda: self.board.beam_state[index] == int(blocked), timeout_s):
            raise TimeoutError(f"door board simulator: beam {index} change not sampled in {timeout_s} s")

    def __enter__(self) -> DoorBoardSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        def sleep_ms(ms: int) -> None:
            self.plant.step(_now_ms())
            with self._watch_lock:
                for predicate, done in self._watches:
                    if predicate():
                        done.set()
            self.pty.wait_readable(ms / 1000)  # wakes at once when the edge writes

        try:
            firmware_main.run(self.board, self.pty, _now_ms, sleep_ms, should_stop=self.stopping.is_set,
                              loop_ms=self.config.LOOP_MS)  # fmt: skip
        except (OSError, ValueError):
            if not self.stopping.is_set():
                log.exception("door board simulator stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doorboard_sim", description="serve a simulated door board on a pty")
    parser.add_argument("--door-move-ms", type=int, default=1000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with DoorBoardSimulator(door_move_ms=args.door_move_ms) as sim:
        print(f"door board on {sim.port_name} (Ctrl-C to stop)", flush=True)
        try:
            sim.stopping.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
