"""Door board logic: two motorised doors, their interlock, emergency release and the edge watchdog.

Runs on MicroPython (the board) and on CPython (tests, simulator). It touches hardware only
through pin objects with ``value()`` / ``value(v)`` handed to it, and time only through the
``now_ms`` passed to ``tick`` and ``receive``, so tests drive it step by step.

Safety, enforced here whatever the edge says:

- both doors are never open: a door opens only while the other is closed and stopped, except on
  emergency release;
- the motor never drives against the lock; the lock only engages on a closed, stopped door;
- a closing door whose doorway beam is blocked reverses (obstruction), and a door that does not
  reach its end stop within ``move_timeout_ms``, or whose two end stops are both active, stops and
  reports a fault;
- the fire alarm input releases both doors on the next tick, held traveller or not, and the panel
  shows the alarm until it clears;
- when no valid frame arrives from the edge for ``watchdog_ms``, motors stop, closed doors lock
  and the panel shows STOP, until the edge speaks again.

Wiring conventions: end stops close to ground with pull-ups (pressed = 0), beams and the fire
alarm loop read 1 when blocked / in alarm (fail-safe: a cut wire reads as blocked / alarm), lock
and motor outputs are active high.
"""

try:
    from firmware import protocol as P  # CPython: the package in the repository
except ImportError:  # on the board every file sits at the filesystem root
    import protocol as P

VERSION = b"doorboard 1.0"
TICKS_PERIOD = 1 << 30  # MicroPython's ticks_ms wraps here
MAX_PENDING_EVENTS = 64
DUPLICATE_WINDOW_MS = 1000  # a repeat of the last command within this is a retransmission

LIGHTS = {
    P.IND_IDLE: (0, 0, 0, 0),
    P.IND_PROCEED: (1, 0, 0, 0),
    P.IND_WAIT: (0, 1, 0, 0),
    P.IND_STOP: (0, 0, 1, 0),
    P.IND_ALARM: (0, 0, 1, 1),
}  # green, amber, red, buzzer


def ticks_diff(a, b):
    """a - b on the wrapping ms counter, like MicroPython's time.ticks_diff."""
    return ((a - b + TICKS_PERIOD // 2) % TICKS_PERIOD) - TICKS_PERIOD // 2


class BoardDoor:
    """One door's outputs and end stops, and the movement in progress."""

    def __init__(self, code, motor_open, motor_close, lock, open_switch, closed_switch, doorway_beam):
        self.code = code
        self.motor_open = motor_open
        self.motor_close = motor_close
        self.lock = lock
        self.open_switch = open_switch
        self.closed_switch = closed_switch
        self.doorway_beam = doorway_beam
        self.target = None  # P.POS_OPEN or P.POS_CLOSED while driving
        self.started_ms = 0
        self.faulted = False
        self.stop()

    def at_open(self):
        return self.open_switch.value() == 0

    def at_closed(self):
        return self.closed_switch.value() == 0

    def locked(self):
        return self.lock.value() == 1

    def shut(self):
        return self.target is None and self.at_closed() and not self.at_open()

    def position(self):
        if self.at_open() and self.at_closed():
            return P.POS_UNKNOWN
        if self.target is not None:
            return P.POS_MOVING
        if self.at_open():
            return P.POS_OPEN
        if self.at_closed():
            return P.POS_LOCKED if self.locked() else P.POS_CLOSED
        return P.POS_UNKNOWN

    def stop(self):
        self.motor_open.value(0)
        self.motor_close.value(0)
        self.target = None

    def drive(self, target, now_ms):
        # the opposite H-bridge input goes low first, so the bridge is never shorted
        if target == P.POS_OPEN:
            self.motor_close.value(0)
            self.motor_open.value(1)
        else:
            self.motor_open.value(0)
            self.motor_close.value(1)
        self.target = target
        self.started_ms = now_ms


class DoorBoard:
    """The firmware's state: doors, beams, panel, fire alarm, watchdog and the serial link.

    :param doors: (entry, exit) ``BoardDoor``s.
    :param zone_beams: pins of the mantrap floor beams, entry side first (1 = blocked).
    :param emergency: fire alarm loop pin (1 = alarm).
    :param lights: (green, amber, red, buzzer) output pins.
    :param send: called with each outgoing frame's bytes.
    :param watchdog_ms: edge silence after which the doors are made safe.
    :param move_timeout_ms: a door slower than this is jammed.
    :param resend_ms: how long an event waits for the edge's ACK before it is sent again.
    """

    def __init__(self, doors, zone_beams, emergency, lights, send, now_ms=0,
                 watchdog_ms=1500, move_timeout_ms=3000, resend_ms=200):  # fmt: skip
        self.doors = doors
        self.zone_beams = zone_beams
        self.emergency_pin = emergency
        self.lights = lights
        self.send = send
        self.watchdog_ms = watchdog_ms
        self.move_timeout_ms = move_timeout_ms
        self.resend_ms = resend_ms
        self.decoder = P.Decoder()
        self.emergency = False
        self.edge_lost = False
        self.indicator = P.IND_IDLE
        self.last_rx_ms = now_ms
        self.event_seq = 0
        self.pending = []  # [(seq, payload)], head in flight
        self.sent_ms = None
        self.dropped_events = 0
        self.last_command = None  # (seq, cmd, payload, reply, ms) to answer retransmissions alike
        self.beams = self._beam_pins()
        self.beam_state = [pin.value() for pin in self.beams]
        self.show()
        self.queue_event(P.EV_BOOT, P.NO_DOOR, VERSION)

    # ------------------------------------------------------------ outputs

    def show(self):
        pattern = LIGHTS[P.IND_ALARM if self.emergency else self.indicator]
        for pin, value in zip(self.lights, pattern):
            pin.value(value)

    def status(self):
        flags = 0
        if self.emergency:
            flags |= P.FLAG_EMERGENCY
        if self.edge_lost:
            flags |= P.FLAG_EDGE_LOST
        if self.doors[0].faulted or self.doors[1].faulted:
            flags |= P.FLAG_FAULT
        return bytes((self.doors[0].position(), self.doors[1].position(), flags))

    # ------------------------------------------------------------ serial link

    def receive(self, data, now_ms):
        """Handle bytes from the UART."""
        for seq, cmd, payload in self.decoder.feed(data):
            if cmd is None:
                self.send(P.encode(seq, P.NAK, bytes((P.NAK_CRC,))))
                continue
            self.last_rx_ms = now_ms
            if self.edge_lost:
                self.edge_lost = False
                self.show()
                self.queue_event(P.EV_EDGE_BACK, P.NO_DOOR)
            if cmd == P.ACK:
                if self.pending and self.pending[0][0] == seq:
                    self.pending.pop(0)
                    self.sent_ms = None
                continue
            if cmd == P.NAK:
                self.sent_ms = None  # the edge saw a broken event frame: resend at once
                continue
            last = self.last_command
            if (last is not None and last[0] == seq and last[1] == cmd and last[2] == payload
                    and ticks_diff(now_ms, last[4]) < DUPLICATE_WINDOW_MS):  # fmt: skip
                self.send(last[3])  # our reply was lost; do not act twice
                continue
            reply = self.command(seq, cmd, payload, now_ms)
            self.last_command = (seq, cmd, payload, reply, now_ms)
            self.send(reply)

    def command(self, seq, cmd, payload, now_ms):
        """Execute one command and return the ACK or NAK frame."""
        if cmd in (P.PING, P.STATUS):
            return P.encode(seq, P.ACK, self.status())
        if cmd == P.RELEASE_ALL:
            self.release_all(now_ms)
            return P.encode(seq, P.ACK)
        if cmd == P.INDICATE:
            if len(payload) != 1 or payload[0] not in LIGHTS:
                return P.encode(seq, P.NAK, bytes((P.NAK_BAD_PAYLOAD,)))
            self.indicator = payload[0]
            self.show()
            return P.encode(seq, P.ACK)
        if cmd not in (P.OPEN, P.CLOSE, P.LOCK, P.UNLOCK):
            return P.encode(seq, P.NAK, bytes((P.NAK_UNKNOWN_COMMAND,)))
        if len(payload) != 1 or payload[0] not in (P.DOOR_ENTRY, P.DOOR_EXIT):
            return P.encode(seq, P.NAK, bytes((P.NAK_BAD_PAYLOAD,)))
        reason = self.door_command(cmd, payload[0], now_ms)
        if reason:
            return P.encode(seq, P.NAK, bytes((reason,)))
        return P.encode(seq, P.ACK, self.status())

    def door_command(self, cmd, code, now_ms):
        """Apply the interlocks and start the command; return a NAK reason or 0."""
        door = self.doors[code]
        other = self.doors[1 - code]
        if cmd == P.OPEN:
            if door.locked():
                return P.NAK_INTERLOCK
            if door.target == P.POS_OPEN:
                return 0
            if door.at_open() and not door.at_closed():
                door.stop()
                self.queue_event(P.EV_DOOR_OPENED, code)
                return 0
            if not other.shut() and not self.emergency:
                return P.NAK_INTERLOCK
            door.drive(P.POS_OPEN, now_ms)
            return 0
        if cmd == P.UNLOCK:
            door.lock.value(0)
            self.queue_event(P.EV_DOOR_UNLOCKED, code)
            return 0
        if self.emergency:
            return P.NAK_EMERGENCY
        if cmd == P.LOCK:
            if not door.shut():
                return P.NAK_INTERLOCK
            door.lock.value(1)
            self.queue_event(P.EV_DOOR_LOCKED, code)
            return 0
        # CLOSE
        if door.target == P.POS_CLOSED:
            return 0
        if door.shut():
            self.queue_event(P.EV_DOOR_CLOSED, code)
            return 0
        if door.doorway_beam.value():
            self.queue_event(P.EV_DOOR_OBSTRUCTED, code)
            return 0
        door.drive(P.POS_CLOSED, now_ms)
        return 0

    def queue_event(self, code, door, detail=b""):
        if len(self.pending) >= MAX_PENDING_EVENTS:
            self.pending.pop(1 if self.sent_ms is not None else 0)  # never the one in flight
            self.dropped_events += 1
        self.event_seq = (self.event_seq + 1) & 0xFF
        self.pending.append((self.event_seq, bytes((code, door)) + detail))

    # ------------------------------------------------------------ the loop

    def release_all(self, now_ms):
        for door in self.doors:
            if door.locked():
                door.lock.value(0)
                self.queue_event(P.EV_DOOR_UNLOCKED, door.code)
        for door in self.doors:
            # A door that has just started closing still presses its open stop: it must be
            # driven open too. Only a door at rest on its open stop is left alone.
            resting_open = door.target is None and door.at_open() and not door.at_closed()
            if door.target != P.POS_OPEN and not resting_open:
                door.drive(P.POS_OPEN, now_ms)

    def tick(self, now_ms):
        """Poll inputs, supervise movements, run the watchdog and (re)send events."""
        self.poll_emergency(now_ms)
        for door in self.doors:
            self.supervise(door, now_ms)
        self.poll_beams()
        if not self.edge_lost and ticks_diff(now_ms, self.last_rx_ms) > self.watchdog_ms:
            self.make_safe()
        if self.pending and (self.sent_ms is None or ticks_diff(now_ms, self.sent_ms) >= self.resend_ms):
            seq, payload = self.pending[0]
            self.send(P.encode(seq, P.EVENT, payload))
            self.sent_ms = now_ms

    def poll_emergency(self, now_ms):
        active = self.emergency_pin.value() == 1
        if active == self.emergency:
            return
        self.emergency = active
        self.show()
        if active:
            self.queue_event(P.EV_EMERGENCY, P.NO_DOOR)
            self.release_all(now_ms)
        else:
            self.queue_event(P.EV_EMERGENCY_CLEARED, P.NO_DOOR)

    def supervise(self, door, now_ms):
        if door.at_open() and door.at_closed():
            if not door.faulted or door.target is not None:
                door.stop()
                self.fault(door, b"open and closed switches both active")
            return
        if door.target is None:
            return
        if door.target == P.POS_OPEN and door.at_open():
            door.stop()
            self.arrived(door, P.EV_DOOR_OPENED)
        elif door.target == P.POS_CLOSED and door.at_closed():
            door.stop()
            self.arrived(door, P.EV_DOOR_CLOSED)
        elif door.target == P.POS_CLOSED and door.doorway_beam.value() and not self.emergency:
            door.drive(P.POS_OPEN, now_ms)
            self.queue_event(P.EV_DOOR_OBSTRUCTED, door.code)
        elif ticks_diff(now_ms, door.started_ms) > self.move_timeout_ms:
            target = "open" if door.target == P.POS_OPEN else "closed"
            door.stop()
            self.fault(door, ("did not reach %s within %d ms" % (target, self.move_timeout_ms)).encode())

    def arrived(self, door, code):
        self.queue_event(code, door.code)
        if door.faulted:
            door.faulted = False
            self.queue_event(P.EV_FAULT_CLEARED, door.code)

    def fault(self, door, detail):
        door.faulted = True
        self.queue_event(P.EV_DOOR_FAULT, door.code, detail)

    def poll_beams(self):
        for index, pin in enumerate(self.beams):
            value = pin.value()
            if value != self.beam_state[index]:
                self.beam_state[index] = value
                self.queue_event(P.EV_BEAM, index, bytes((value,)))

    def make_safe(self):
        """The edge went silent: stop, lock what is closed, show STOP. Emergency still overrides."""
        self.edge_lost = True
        self.last_command = None  # whoever speaks next starts a new conversation
        for door in self.doors:
            if door.target is not None and not self.emergency:
                door.stop()
            if door.shut() and not self.emergency:
                door.lock.value(1)
        self.indicator = P.IND_STOP
        self.show()
        self.queue_event(P.EV_EDGE_LOST, P.NO_DOOR)

    def _beam_pins(self):
        # beam index order: entry doorway, zone beams, exit doorway (see protocol.EV_BEAM)
        return [self.doors[0].doorway_beam] + list(self.zone_beams) + [self.doors[1].doorway_beam]
