"""MicroPython firmware for the gate's door board (see main.py, doorboard.py, protocol.py).

Flash ``protocol.py``, ``doorboard.py``, ``board_config.py`` and ``main.py`` to the board's root
(e.g. ``mpremote cp firmware/{protocol,doorboard,board_config,main}.py :``). This ``__init__``
is not flashed; it only lets CPython tests and the edge import the same files as a package.
Nothing here may import edge, simulators or any package MicroPython lacks.
"""
