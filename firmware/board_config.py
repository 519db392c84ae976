"""Pin numbers and timings of the door board (an RP2040 board such as the Raspberry Pi Pico).

Edit this file per board revision; doorboard.py never hard-codes a pin.
"""

UART_ID = 0
UART_BAUD = 115200
UART_TX = 0
UART_RX = 1

# per door: motor open, motor close, lock, open end stop, closed end stop, doorway beam
ENTRY = (2, 3, 4, 5, 6, 7)
EXIT = (8, 9, 10, 11, 12, 13)
ZONE_BEAMS = (14, 15, 16)
EMERGENCY = 17
LIGHTS = (18, 19, 20, 21)  # green, amber, red, buzzer

WATCHDOG_MS = 1500  # edge silence before the doors are made safe
MOVE_TIMEOUT_MS = 3000  # SOP movement is 1 s; slower than this is a jam
RESEND_MS = 200  # event retransmission interval
HW_WATCHDOG_MS = 2000  # machine.WDT: reboot if this loop ever hangs
LOOP_MS = 2
