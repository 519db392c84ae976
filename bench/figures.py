"""The one way a benchmark reports a figure: ``emit(name, value, unit, ...)``, one JSON line each.

    from bench.figures import emit
    emit("mrz.real.read_exactly", 0.83, "fraction", peer="PassportEye 2.2.2", peer_value=0.0,
         trials=18, held_out=True)

A figure line is a JSON object with at least ``name``, ``value``, ``unit``, ``peer``,
``peer_value`` and ``command`` (the command that reproduces it; filled in from ``sys.argv`` when
the bench does not give one); anything else the bench passes (the count behind a rate, its
interval, whether it is held out) rides along. ``peer`` and ``peer_value`` are null where no peer
ran. Names are dotted, area first (``watchlist.screening.typo_surname.found``), and stay stable
between runs so that runs can be compared.

Run alone, a bench prints its figure lines on stdout among its own text. Under ``make bench``
(bench/run_all.py), ``AUTOGATE_BENCH_FIGURES`` names a file: figure lines are appended there and
run_all prints them, with a line describing the machine, as its only stdout.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FIGURES_ENV = "AUTOGATE_BENCH_FIGURES"
REQUIRED_KEYS = ("name", "value", "unit", "peer", "peer_value", "command")


def command_line(argv: list[str] | None = None) -> str:
    """``python -m package.module args`` for the running bench (what a reader types to rerun it)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    args = sys.argv[1:] if argv is None else argv
    target = ["-m", spec.name] if spec is not None and spec.name else [sys.argv[0]]
    return " ".join(shlex.quote(a) for a in [".venv/bin/python", *target, *args])


def _plain(value: Any) -> Any:
    """JSON-safe numbers: numpy scalars to Python, NaN and infinities to null."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def figure(name: str, value: float | int | None, unit: str, *, peer: str | None = None,
           peer_value: float | int | None = None, command: str | None = None, **extra: Any) -> dict[str, Any]:
    """The figure as a dict, with the keys every figure line has (``REQUIRED_KEYS``) first."""
    if not name or not unit:
        raise ValueError("a figure needs a name and a unit")
    line: dict[str, Any] = {
        "name": name, "value": _plain(value), "unit": unit, "peer": peer, "peer_value": _plain(peer_value),
        "command": command or command_line(),
    }
    for key, val in extra.items():
        line[key] = _plain(val) if not isinstance(val, (list, tuple, dict)) else val
    return line


def emit(name: str, value: float | int | None, unit: str, *, peer: str | None = None,
         peer_value: float | int | None = None, command: str | None = None, **extra: Any) -> dict[str, Any]:
    """Report one figure: appended to ``$AUTOGATE_BENCH_FIGURES`` under run_all, else printed."""
    line = figure(name, value, unit, peer=peer, peer_value=peer_value, command=command, **extra)
    text = json.dumps(line, ensure_ascii=False, sort_keys=False)
    target = os.environ.get(FIGURES_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        print(text, flush=True)
    return line


def read_figures(path: Path) -> list[dict[str, Any]]:
    """The figure lines a bench wrote; a line that is not a figure raises ValueError."""
    if not path.exists():
        return []
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        line = json.loads(raw)
        missing = [k for k in REQUIRED_KEYS if k not in line]
        if missing:
            raise ValueError(f"{path}:{n}: figure line lacks {', '.join(missing)}")
        out.append(line)
    return out


def _cpu_model() -> str:
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                return row.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parents[1])
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine() -> dict[str, Any]:
    """What the figures were measured on, so that runs on different machines are not compared blindly."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    return {
        "machine": {
            "cpu": _cpu_model(), "cores": os.cpu_count(), "cores_usable": affinity, "memory_gb": mem_gb,
            "load_average": load, "python": platform.python_version(), "platform": platform.platform(),
            "hostname": platform.node(), "git_commit": _git_commit(),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    }
