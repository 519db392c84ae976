"""Door board entry point: build the pins, then poll UART, inputs and watchdog forever.

On the board MicroPython runs this file at boot. On CPython, tests and the simulator install a
fake ``machine`` module (simulators/devices/fake_machine.py) and call ``build`` and ``run`` with a
fake clock and a stop flag.
"""

import time

try:
    from firmware import board_config as C
    from firmware.doorboard import BoardDoor, DoorBoard
except ImportError:  # on the board
    import board_config as C
    from doorboard import BoardDoor, DoorBoard


def build(uart, now_ms=0, config=C):
    """The ``DoorBoard`` for the pins in ``config``, sending its frames to ``uart``."""
    import machine  # imported here so that a test can install its fake first

    def out(n):
        return machine.Pin(n, machine.Pin.OUT, value=0)

    def switch(n):
        return machine.Pin(n, machine.Pin.IN, machine.Pin.PULL_UP)

    def sensor(n):  # external pull-up: a cut wire reads 1 (blocked / alarm)
        return machine.Pin(n, machine.Pin.IN)

    doors = []
    for code, pins in enumerate((config.ENTRY, config.EXIT)):
        mo, mc, lock, op, cl, beam = pins
        doors.append(BoardDoor(code, out(mo), out(mc), out(lock), switch(op), switch(cl), sensor(beam)))
    return DoorBoard(
        doors,
        [sensor(n) for n in config.ZONE_BEAMS],
        sensor(config.EMERGENCY),
        [out(n) for n in config.LIGHTS],
        uart.write,
        now_ms=now_ms,
        watchdog_ms=config.WATCHDOG_MS,
        move_timeout_ms=config.MOVE_TIMEOUT_MS,
        resend_ms=config.RESEND_MS,
    )


def run(board, uart, ticks_ms, sleep_ms, wdt=None, should_stop=None, loop_ms=C.LOOP_MS):
    """The main loop; returns only when ``should_stop()`` says so (never on the board)."""
    while should_stop is None or not should_stop():
        now = ticks_ms()
        waiting = uart.any()
        if waiting:
            board.receive(uart.read(waiting), now)
        board.tick(now)
        if wdt is not None:
            wdt.feed()
        sleep_ms(loop_ms)


def main():
    import machine

    uart = machine.UART(C.UART_ID, baudrate=C.UART_BAUD, tx=machine.Pin(C.UART_TX), rx=machine.Pin(C.UART_RX))
    board = build(uart, now_ms=time.ticks_ms())
    wdt = machine.WDT(timeout=C.HW_WATCHDOG_MS)
    run(board, uart, time.ticks_ms, time.sleep_ms, wdt=wdt)


if __name__ == "__main__":
    main()
