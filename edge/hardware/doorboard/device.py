"""``DoorBoardGateHardware``: the gate's doors, beams and panel behind our door board firmware.

The board enforces the interlocks, emergency release and its own watchdog; this driver turns
``GateHardware`` calls into framed commands, waits for each ACK or NAK (retransmitting on timeout
or a CRC NAK), acknowledges the board's events and turns them into ``HardwareEvent``s, and pings
the board every ``heartbeat_s`` so that its watchdog stays quiet while this process is alive.

Threads: a reader (the only one that reads the port), a dispatcher (delivers events to listeners,
so a listener may call ``execute`` without deadlocking the reader) and the heartbeat. All wait on
the ``stopping`` Event and stop in ``close``. In the lockstep simulator (a fake clock shared with
the firmware) ``heartbeat_clock`` times the pings instead of the heartbeat thread, and
``activity()`` lets it wait until every byte and event has been handled.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from typing import Any

import serial

from edge.hardware.base import (
    DoorCommand,
    DoorName,
    DoorPosition,
    GateHardware,
    HardwareEvent,
    HardwareEventKind,
    Indicator,
)
from edge.hardware.doorboard.codec import (
    ACTION_COMMANDS,
    CODE_DOORS,
    DOOR_CODES,
    DOOR_EVENTS,
    INDICATOR_CODES,
    Decoder,
    command_name,
    encode,
    nak_reason,
    parse_status,
    wire,
)
from edge.hardware.doorboard.errors import (
    DoorBoardClosed,
    DoorBoardError,
    DoorBoardRefused,
    DoorBoardTimeout,
    InterlockViolation,
)
from edge.hardware.clock import Scheduler
from edge.hardware.faults import FaultSet
from edge.hardware.mantrap import MantrapTracker, zone_beam

log = logging.getLogger(__name__)

_LINK_FAULT = "board:link"
_WATCHDOG_FAULT = "board:watchdog"


def _open_port(port_name: str, baudrate: int) -> Any:
    try:
        return serial.serial_for_url(port_name, baudrate=baudrate, timeout=0.05)
    except (serial.SerialException, OSError) as exc:
        raise DoorBoardError(f"door board {port_name}: cannot open: {exc}") from exc


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.cmd: int | None = None
        self.payload = b""


class DoorBoardGateHardware(GateHardware):
    """The gate's hardware through the door board on a serial port.

    :param port: an open pyserial ``Serial`` (or anything with ``read``, ``write``, ``in_waiting``
        and ``close``), or a device path / pyserial URL that the driver opens and owns.
    :param baudrate: used only when the driver opens ``port`` itself.
    :param zone_beams: beams across the mantrap floor (must match the board's wiring).
    :param timeout_s: wait for one ACK/NAK before retransmitting.
    :param retries: retransmissions before ``DoorBoardTimeout`` (and a ``FAULT``).
    :param heartbeat_s: ping interval; keep it well under the board's watchdog (1.5 s).
    :param heartbeat_clock: time the pings on this scheduler instead of a thread (a simulator whose
        firmware runs on the same fake clock: real-time pings would not keep its watchdog quiet).
    """

    def __init__(
        self,
        *,
        port: Any,
        baudrate: int = 115200,
        zone_beams: int = 3,
        timeout_s: float = 0.25,
        retries: int = 3,
        heartbeat_s: float = 0.5,
        owns_port: bool = False,
        scheduler: Scheduler | None = None,
        heartbeat_clock: Scheduler | None = None,
    ) -> None:
        super().__init__()
        del scheduler  # the board times movements itself; accepted so every adapter is built alike
        if isinstance(port, str):
            port, owns_port = _open_port(port, baudrate), True
        self._port = port
        self._name = str(getattr(port, "port", None) or getattr(port, "name", "door board"))
        self._owns_port = owns_port
        self._timeout_s = timeout_s
        self._retries = retries
        self._heartbeat_s = heartbeat_s
        self._decoder = Decoder()
        self._tracker = MantrapTracker(zone_beams=zone_beams)
        self._faults = FaultSet(self._emit)
        self._positions: dict[DoorName, str] = {"entry": DoorPosition.UNKNOWN, "exit": DoorPosition.UNKNOWN}
        self._emergency = False
        # a random start, so a restarted edge does not look like a retransmission of the last one
        self._seq = random.randrange(256)
        self._seq_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._last_event_seq: int | None = None
        self._outbox: queue.Queue[HardwareEvent] = queue.Queue()
        # activity counters, see activity(); each moves before the work it stands for is visible
        self._count_lock = threading.Lock()
        self._tx_bytes = 0
        self._rx_bytes = 0
        self._queued = 0
        self._delivered = 0
        self._heartbeat_clock = heartbeat_clock
        self._ping_handle: Any = None
        self.stopping = threading.Event()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"doorboard-read {self._name}", daemon=True),
            threading.Thread(target=self._dispatch_loop, name=f"doorboard-events {self._name}", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name=f"doorboard-ping {self._name}", daemon=True),
        ]
        try:
            self._threads[0].start()
            self._threads[1].start()
            self._request(wire.STATUS)  # the reply's status fills door_positions
        except BaseException:
            self.close()
            raise
        if heartbeat_clock is None:
            self._threads[2].start()
        else:
            self._schedule_ping()

    @classmethod
    def open(cls, port_name: str, *, baudrate: int = 115200, **kwargs: Any) -> DoorBoardGateHardware:
        """Open ``port_name`` (a device path or a pyserial URL) and drive the board on it."""
        return cls(port=port_name, baudrate=baudrate, **kwargs)

    # ---------------------------------------------------------------- GateHardware

    def execute(self, command: DoorCommand) -> None:
        self._request(ACTION_COMMANDS[command.action], bytes([DOOR_CODES[command.door]]), what=str(command.action),
                      door=command.door)  # fmt: skip

    def release_all(self) -> None:
        # no lock is shared with other commands: this never queues behind a slow one
        self._request(wire.RELEASE_ALL)

    def indicate(self, indicator: Indicator) -> None:
        self._request(wire.INDICATE, bytes([INDICATOR_CODES[indicator]]))

    @property
    def door_positions(self) -> dict[DoorName, str]:
        return dict(self._positions)

    @property
    def emergency(self) -> bool:
        return self._emergency

    @property
    def people_inside(self) -> int:
        return self._tracker.count

    @property
    def faults(self) -> dict[str, str]:
        return self._faults.active

    @property
    def crc_errors(self) -> int:
        return self._decoder.crc_errors

    def activity(self) -> tuple[int, int, int, int]:
        """(bytes written, bytes read and handled, events queued, events delivered).

        Each counter moves before the work it stands for becomes visible to the other side (bytes
        count before the write; reads, after their frames are handled; deliveries, after the
        listeners return), so a simulator that sees two equal snapshots which also balance with
        its own byte counts knows nothing is in flight.
        """
        with self._count_lock:
            return self._tx_bytes, self._rx_bytes, self._queued, self._delivered

    def close(self) -> None:
        """Stop the threads (the board's watchdog then makes the doors safe) and release the port."""
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        if self._ping_handle is not None:
            self._ping_handle.cancel()
        for waiter in list(self._waiters.values()):
            waiter.done.set()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=2.0)
                if thread.is_alive():
                    log.error("door board %s: thread %s did not stop", self._name, thread.name)
        if self._owns_port:
            try:
                self._port.close()
            except (serial.SerialException, OSError):
                log.warning("door board %s: error closing the port", self._name, exc_info=True)

    # ---------------------------------------------------------------- commands

    def _request(self, cmd: int, payload: bytes = b"", *, what: str | None = None, door: str | None = None) -> bytes:
        """Send one command and return its ACK payload; NAKs become exceptions."""
        if self.stopping.is_set():
            raise DoorBoardClosed(f"door board {self._name}: driver is closed")
        with self._seq_lock:
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
        waiter = _Waiter()
        self._waiters[seq] = waiter
        frame = encode(seq, cmd, payload)
        label = f"{what or command_name(cmd)}{' ' + door if door else ''}"
        try:
            for attempt in range(1 + self._retries):
                waiter.done.clear()
                self._write(frame)
                if not waiter.done.wait(self._timeout_s):
                    log.info("door board %s: no reply to %s seq %d (try %d)", self._name, label, seq, attempt + 1)
                    continue
                if self.stopping.is_set():
                    raise DoorBoardClosed(f"door board {self._name}: driver closed during {label}")
                if waiter.cmd == wire.NAK and waiter.payload[:1] == bytes([wire.NAK_CRC]):
                    log.info("door board %s: %s seq %d arrived corrupted, resending", self._name, label, seq)
                    continue
                break
            else:
                error = DoorBoardTimeout(
                    f"door board {self._name}: no reply to {label} (seq {seq}) after {1 + self._retries} tries"
                )
                self._faults.raise_(_LINK_FAULT, None, str(error))
                raise error
        finally:
            self._waiters.pop(seq, None)
        self._faults.clear(_LINK_FAULT)
        if waiter.cmd == wire.ACK:
            return waiter.payload
        reason = waiter.payload[:1]
        text = f"door board {self._name}: {label} refused: {nak_reason(waiter.payload)}"
        if reason in (bytes([wire.NAK_INTERLOCK]), bytes([wire.NAK_EMERGENCY])):
            raise InterlockViolation(text)
        raise DoorBoardRefused(text)

    def _write(self, frame: bytes) -> None:
        try:
            with self._write_lock:
                with self._count_lock:
                    self._tx_bytes += len(frame)
                self._port.write(frame)
        except (serial.SerialException, OSError) as exc:
            raise DoorBoardError(f"door board {self._name}: write failed: {exc}") from exc

    # ---------------------------------------------------------------- threads

    def _read_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                if self.stopping.is_set():
                    return
                self._faults.raise_(_LINK_FAULT, None, f"door board {self._name}: read failed: {exc}")
                self.stopping.wait(0.2)
                continue
            if not data:
                continue
            for seq, cmd, payload in self._decoder.feed(data):
                try:
                    self._on_frame(seq, cmd, payload)
                except (DoorBoardError, ValueError):
                    log.warning("door board %s: bad frame seq %d cmd %s", self._name, seq, cmd, exc_info=True)
            with self._count_lock:
                self._rx_bytes += len(data)

    def _on_frame(self, seq: int, cmd: int | None, payload: bytes) -> None:
        if cmd is None:
            log.info("door board %s: corrupted frame (CRC), asking for a resend", self._name)
            self._write(encode(seq, wire.NAK, bytes([wire.NAK_CRC])))
            return
        if cmd in (wire.ACK, wire.NAK):
            if cmd == wire.ACK and len(payload) == 3:
                self._apply_status(payload)  # here, in wire order, never stale
            waiter = self._waiters.get(seq)
            if waiter is not None:
                waiter.cmd, waiter.payload = cmd, payload
                waiter.done.set()
            return
        if cmd == wire.EVENT:
            self._write(encode(seq, wire.ACK))
            if seq == self._last_event_seq:
                return  # our ACK was lost and the board repeated itself
            self._last_event_seq = seq
            if len(payload) >= 2:
                self._on_event(payload[0], payload[1], payload[2:])
            return
        log.warning("door board %s: unexpected command 0x%02x from the board", self._name, cmd)

    def _apply_status(self, payload: bytes) -> None:
        status = parse_status(payload)
        self._positions = {"entry": status.entry, "exit": status.exit}
        self._emergency = status.emergency

    def _on_event(self, code: int, door_code: int, detail: bytes) -> None:
        door = CODE_DOORS.get(door_code)
        text = detail.decode("ascii", errors="replace")
        if code in DOOR_EVENTS and door is not None:
            kind = DOOR_EVENTS[code]
            position = {
                HardwareEventKind.DOOR_OPENED: DoorPosition.OPEN,
                HardwareEventKind.DOOR_CLOSED: DoorPosition.CLOSED,
                HardwareEventKind.DOOR_LOCKED: DoorPosition.LOCKED,
                HardwareEventKind.DOOR_OBSTRUCTED: DoorPosition.MOVING,
            }.get(kind)
            if kind is HardwareEventKind.DOOR_UNLOCKED and self._positions[door] == DoorPosition.LOCKED:
                position = DoorPosition.CLOSED
            if position is not None:
                self._positions[door] = position
            self._emit(kind, door, text)
        elif code == wire.EV_DOOR_FAULT and door is not None:
            self._positions[door] = DoorPosition.UNKNOWN
            self._faults.raise_(f"{door}:board", door, f"{door} door: {text}")
        elif code == wire.EV_FAULT_CLEARED and door is not None:
            self._faults.clear_door(door)
        elif code == wire.EV_BEAM:
            beam = self._beam_name(door_code)
            for event in self._tracker.update(beam, detail[:1] == b"\x01"):
                self._enqueue(event)
        elif code == wire.EV_EMERGENCY:
            self._emergency = True
            self._emit(HardwareEventKind.EMERGENCY, None, "fire alarm")
        elif code == wire.EV_EMERGENCY_CLEARED:
            self._emergency = False
            self._emit(HardwareEventKind.EMERGENCY_CLEARED, None, "fire alarm")
        elif code == wire.EV_EDGE_LOST:
            self._faults.raise_(_WATCHDOG_FAULT, None, "door board watchdog fired: doors were made safe")
        elif code == wire.EV_EDGE_BACK:
            self._faults.clear(_WATCHDOG_FAULT)
        elif code == wire.EV_BOOT:
            log.info("door board %s booted: %s", self._name, text)
        else:
            log.warning("door board %s: unknown event %d", self._name, code)

    def _beam_name(self, index: int) -> str:
        if index == 0:
            return "entry"
        if index == self._tracker.zone_beams + 1:
            return "exit"
        return zone_beam(index - 1)

    def _emit(self, kind: HardwareEventKind, door: DoorName | None = None, detail: str = "") -> None:
        # delivered by the dispatcher thread, so listeners may send commands
        self._enqueue(HardwareEvent(kind, door, detail))

    def _enqueue(self, event: HardwareEvent) -> None:
        with self._count_lock:
            self._queued += 1
        self._outbox.put(event)

    def _dispatch_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                event = self._outbox.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self._events.emit(event)
            finally:
                with self._count_lock:
                    self._delivered += 1

    def _heartbeat_loop(self) -> None:
        while not self.stopping.wait(self._heartbeat_s):
            if not self._ping():
                return

    def _ping(self) -> bool:
        """One heartbeat; False once the driver is closed."""
        try:
            self._request(wire.PING)
        except DoorBoardClosed:
            return False
        except DoorBoardError as exc:
            log.warning("%s", exc)  # already raised as a FAULT by _request
        return True

    def _schedule_ping(self) -> None:
        assert self._heartbeat_clock is not None
        if not self.stopping.is_set():
            self._ping_handle = self._heartbeat_clock.call_later(self._heartbeat_s, self._clock_ping)

    def _clock_ping(self) -> None:
        if not self.stopping.is_set() and self._ping():
            self._schedule_ping()
