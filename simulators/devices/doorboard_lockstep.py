"""The door board firmware behind a pty, in lockstep with the edge on one fake clock.

``LockstepDoorBoard`` runs the real firmware (firmware/main.py ``build``, firmware/doorboard.py) on
a fake ``machine`` with the simulated door plant, and serves it on a pty pair that the edge's
``DoorBoardGateHardware`` opens with pyserial, as in the field. Unlike ``DoorBoardSimulator``
(real time, a free-running loop), time here is a ``SteppedScheduler`` shared with the gate runtime:

- a firmware thread answers the edge at once, at the frozen current time (receive, then one loop
  pass, as the board's 2 ms loop would before any time passed), so a blocking ``execute`` works;
- each clock slice moves the plant, runs the edge's timers due in it, then one firmware loop pass
  (arrivals, jam timeouts, watchdog, event resends);
- ``settle()`` waits, with a real-time bound, until both sides have handled every byte and every
  event, so nothing depends on thread timing. The edge's heartbeat runs on the fake clock too.

``GateBody`` is the physical world around it for the simulated travelers: bodies on the beam
track, the fire alarm, jams and obstructions, all acting on the plant's inputs, never on the edge.
"""

from __future__ import annotations

import logging
import threading
import time
import types
from typing import Any, NamedTuple

from edge.hardware.doorboard import DoorBoardGateHardware
from edge.hardware.errors import SimulationError
from firmware import board_config, main as firmware_main
from firmware.doorboard import DoorBoard
from simulators.devices.door_plant import DoorPlant
from simulators.devices.fake_machine import FakeMachine
from simulators.devices.lockstep import SteppedScheduler
from edge.hardware.bodies import MantrapBodies
from simulators.devices.pty_port import PtyPort

log = logging.getLogger(__name__)


class PlantSample(NamedTuple):
    """What the door plant physically showed from ``t_ms`` on (one sample per change)."""

    t_ms: int
    entry_travel: float  # 0 closed .. 1 open
    exit_travel: float
    entry_locked: bool
    exit_locked: bool
    fire_alarm: bool  # the fire alarm input
    lights: tuple[int, ...]  # (green, amber, red, buzzer)


class _CountingUart:
    """The board's UART: writes go to the pty, counted before they are visible to the edge."""

    def __init__(self, pty: PtyPort, owner: LockstepDoorBoard) -> None:
        self._pty = pty
        self._owner = owner

    def write(self, data: bytes) -> int:
        with self._owner._count_lock:
            self._owner.tx_bytes += len(data)
        return self._pty.write(data)


class LockstepDoorBoard:
    """One door board on a pty, stepped by ``scheduler``; ``connect()`` opens the edge driver.

    :param scheduler: the fake clock the gate runtime uses as well.
    :param door_move_ms: full stroke of the simulated doors (SOP: 1 s).
    :param settle_timeout_s: real-time bound on one ``settle``; past it the run is broken.
    """

    def __init__(
        self,
        scheduler: SteppedScheduler,
        *,
        door_move_ms: int = 1000,
        watchdog_ms: int = 1500,
        move_timeout_ms: int = 3000,
        resend_ms: int = 200,
        settle_timeout_s: float = 10.0,
    ) -> None:
        self.scheduler = scheduler
        self.config = types.SimpleNamespace(**{k: getattr(board_config, k) for k in dir(board_config) if k.isupper()})
        self.config.WATCHDOG_MS = watchdog_ms
        self.config.MOVE_TIMEOUT_MS = move_timeout_ms
        self.config.RESEND_MS = resend_ms
        self.settle_timeout_s = settle_timeout_s
        self.tx_bytes = 0  # written by the board
        self.rx_bytes = 0  # read and handled by the board
        self._count_lock = threading.Lock()
        self._board_lock = threading.RLock()
        self.machine = FakeMachine()
        self.pty = PtyPort()
        with self.machine.installed():
            self.board: DoorBoard = firmware_main.build(
                _CountingUart(self.pty, self), now_ms=scheduler.now_ms(), config=self.config
            )
        self.plant = DoorPlant(self.machine, self.config, door_move_ms=door_move_ms)
        self.plant.step(scheduler.now_ms())
        self.samples: list[PlantSample] = []  # the physical history, for invariant checks
        self._sample(scheduler.now_ms())
        self.driver: DoorBoardGateHardware | None = None
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="doorboard-lockstep", daemon=True)
        self._thread.start()
        scheduler.move = self.move
        scheduler.busy = self.busy
        scheduler.on_step = self.step
        scheduler.settle = self.settle

    @property
    def port_name(self) -> str:
        return self.pty.port_name

    def connect(self, **kwargs: Any) -> DoorBoardGateHardware:
        """Open the edge driver on the pty, its heartbeat on the shared clock."""
        kwargs.setdefault("heartbeat_clock", self.scheduler)
        kwargs.setdefault("timeout_s", 2.0)  # nothing is lost on a pty; only a loaded CPU is slow
        self.driver = DoorBoardGateHardware.open(self.port_name, **kwargs)
        self.settle()
        return self.driver

    # ------------------------------------------------------------------ time

    def move(self, now_ms: int) -> None:
        """The doors move up to ``now_ms`` with the motors as the firmware last drove them."""
        with self._board_lock:
            self.plant.step(now_ms)

    def busy(self) -> bool:
        """Something needs fine time steps: a motor runs or an event waits for the edge's ACK."""
        with self._board_lock:
            if self.board.pending:
                return True
            return any(d.target is not None or d.motor_open.value() or d.motor_close.value() for d in self.board.doors)

    def step(self, now_ms: int) -> None:
        """One firmware loop pass at ``now_ms``."""
        with self._board_lock:
            self.board.tick(now_ms)
            self._sample(now_ms)

    def poll(self) -> None:
        """One firmware loop pass at the current time (inputs sampled), then settle."""
        with self._board_lock:
            now = self.scheduler.now_ms()
            self.board.tick(now)
            self._sample(now)
        self.settle()

    def settle(self) -> None:
        """Return once both sides have handled every byte and event in flight."""
        if self.driver is None or self.driver.stopping.is_set():
            return  # no edge (yet, or any more): nothing will answer the board
        deadline = time.monotonic() + self.settle_timeout_s
        last: tuple[int, ...] | None = None
        while True:
            snapshot = self._snapshot()
            if snapshot == last and self._balanced(snapshot):
                return
            last = snapshot
            if time.monotonic() > deadline:
                raise TimeoutError(f"door board lockstep: edge and firmware did not settle: {snapshot}")
            if not self._balanced(snapshot):
                # a real-time pause only while the other threads work; the outcome does not depend on it
                self.stopping.wait(0.0002)

    def _sample(self, now_ms: int) -> None:
        p = self.plant
        sample = PlantSample(now_ms, p.position("entry"), p.position("exit"), p.is_locked("entry"),
                             p.is_locked("exit"), bool(p.emergency.value()), p.light_pattern)  # fmt: skip
        if not self.samples or sample[1:] != self.samples[-1][1:]:
            self.samples.append(sample)

    def _snapshot(self) -> tuple[int, ...]:
        assert self.driver is not None
        with self._count_lock:
            mine = (self.tx_bytes, self.rx_bytes)
        return (*mine, *self.driver.activity())

    @staticmethod
    def _balanced(s: tuple[int, ...]) -> bool:
        board_tx, board_rx, edge_tx, edge_rx, queued, delivered = s
        return board_tx == edge_rx and edge_tx == board_rx and queued == delivered

    # ------------------------------------------------------------------ the firmware thread

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                if not self.pty.wait_readable(0.05):
                    continue
                waiting = self.pty.any()
                if not waiting:
                    continue
                data = self.pty.read(waiting)
                with self._board_lock:
                    now = self.scheduler.now_ms()
                    self.board.receive(data, now)
                    self.board.tick(now)
                    self._sample(now)
                with self._count_lock:
                    self.rx_bytes += len(data)
            except (OSError, ValueError):
                if not self.stopping.is_set():
                    log.exception("door board lockstep: firmware thread stopped")
                return

    def close(self) -> None:
        if self.driver is not None:
            self.driver.close()
        self.stopping.set()
        self._thread.join(timeout=5.0)
        self.pty.close()


class GateBody:
    """The physical gate around the firmware, for simulated travelers and scenarios.

    Offers what ``GateDriver`` and the scenarios use on ``SimulatedGateHardware`` (door positions,
    people inside, enter / tailgate / exit / back out, fire alarm, jams), but every action drives
    the plant's inputs and lets the firmware sample it; the edge learns of it over the pty.
    """

    def __init__(self, board: LockstepDoorBoard) -> None:
        self.board = board
        self.plant = board.plant
        self.bodies = MantrapBodies(len(board.config.ZONE_BEAMS), self._set_beam)

    @property
    def door_positions(self) -> dict[str, str]:
        """What the edge driver believes, once everything in flight has landed."""
        self.board.settle()
        assert self.board.driver is not None
        return dict(self.board.driver.door_positions)

    @property
    def people_inside(self) -> int:
        return self.bodies.count

    @property
    def emergency(self) -> bool:
        return bool(self.board.board.emergency)

    def person_enters(self) -> None:
        self._require_open("entry", "enter")
        self.bodies.enter()

    def tailgate(self) -> None:
        self._require_open("entry", "tailgate")
        self.bodies.tailgate()

    def person_exits(self) -> None:
        self._require_open("exit", "exit")
        self.bodies.exit()

    def person_backs_out(self) -> None:
        self._require_open("entry", "back out")
        self.bodies.back_out()

    def fire_alarm(self, active: bool = True) -> None:
        self.plant.fire_alarm(active)
        self.board.poll()

    def jam_door(self, door: str, jammed: bool = True) -> None:
        self.plant.jam(door, jammed)

    def obstruct_door(self, door: str, blocked: bool = True) -> None:
        """Something stands in ``door``'s doorway beam (a bag, a trolley)."""
        self.plant.block_doorway(door, blocked)
        self.board.poll()

    def _require_open(self, door: str, verb: str) -> None:
        if self.plant.position(door) < 1.0:
            raise SimulationError(f"cannot {verb}: the {door} door is not open ({self.plant.position(door):.2f})")

    def _set_beam(self, index: int, blocked: bool) -> None:
        self.board.board.beams[index].drive(blocked)
        self.board.poll()  # a footstep lasts far longer than the board's 2 ms loop: it is sampled
