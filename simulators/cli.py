"""``autogate sim``: run simulated gates through named scenarios or a stream of travelers.

    autogate sim list
    autogate sim run --scenario happy --json
    autogate sim run --scenario cekal --hardware doorboard --json
    autogate sim hall --gates 4 --travelers 40 --seed 1

``run --json`` prints one JSON object per line for each state change, door command and door
arrival ({"t", "state", "entry", "exit", "event", ...}; "from" on state changes, "detail" on door
lines) and ends with a summary line {"scenario": ..., "outcome": ...}. ``--hardware doorboard``
runs the same scenario through the door board firmware behind a pty pair (same trace format).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from typing import Any

from simulators.scenarios import HARDWARE_KINDS, SCENARIOS, SIM_TODAY, SimWorld, run_scenario
from simulators.travelers import TravelerRates, traveler_stream

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate sim", description="Simulated gates, travelers and scenarios")
    parser.add_argument(
        "--log-level",
        default="ERROR",
        help="logging level (default ERROR, so --json output stays clean)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the scenarios")
    run = sub.add_parser("run", help="run one gate through one scenario")
    run.add_argument("--scenario", required=True, choices=sorted(SCENARIOS), help="scenario name")
    run.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line (trace, then summary)",
    )
    run.add_argument("--seed", type=int, default=7, help="traveler seed")
    run.add_argument(
        "--hardware",
        choices=HARDWARE_KINDS,
        default="simulated",
        help="simulated: in-process gate (default); doorboard: the door board firmware behind a pty",
    )
    hall = sub.add_parser("hall", help="push a stream of synthetic travelers through several gates")
    hall.add_argument("--gates", type=int, default=4, help="number of gates (default 4)")
    hall.add_argument("--travelers", type=int, default=40, help="travelers per gate")
    hall.add_argument("--seed", type=int, default=1)
    hall.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "list":
        for name, (description, _) in SCENARIOS.items():
            print(f"{name:22s} {description}")
        return 0
    if args.command == "run":
        return _run(args.scenario, seed=args.seed, as_json=args.json, hardware=args.hardware)
    return _hall(args.gates, args.travelers, seed=args.seed, as_json=args.json)


def _run(name: str, *, seed: int, as_json: bool, hardware: str = "simulated") -> int:
    result = run_scenario(name, seed=seed, hardware=hardware)
    summary: dict[str, Any] = {
        "scenario": result.scenario,
        "outcome": result.outcome,
        "hardware": hardware,
        **result.summary,
    }
    if as_json:
        for record in result.trace:
            print(json.dumps(record.as_dict(), default=str))
        print(json.dumps(summary, default=str))
    else:
        for record in result.trace:
            r = record.as_dict()
            print(
                f"{r['t']:8.2f}s  {r['state']:20s} entry={r['entry']:7s} exit={r['exit']:7s} {r['event']} {r.get('detail', '')}"
            )
        print(f"scenario {result.scenario}: outcome {result.outcome}")
    return 0


def _hall(gates: int, travelers: int, *, seed: int, as_json: bool) -> int:
    if gates < 1 or travelers < 0:
        print(
            "autogate sim hall: --gates must be >= 1 and --travelers >= 0",
            file=sys.stderr,
        )
        return 2
    outcomes: Counter[str] = Counter()
    per_gate: dict[str, dict[str, int]] = {}
    rates = TravelerRates()
    for g in range(gates):
        world = SimWorld(gate_id=f"sim-gate-{g + 1}", seed=seed + g)
        stream = traveler_stream(seed * 1000 + g, today=SIM_TODAY, rates=rates)
        gate_outcomes: Counter[str] = Counter()
        for _ in range(travelers):
            outcome = world.driver.run_traveler(next(stream))
            gate_outcomes[outcome] += 1
            world.driver.advance(2.0)  # the next traveler steps up
        outcomes.update(gate_outcomes)
        per_gate[world.gate_id] = dict(gate_outcomes)
    summary = {
        "gates": gates,
        "travelers": gates * travelers,
        "outcomes": dict(outcomes),
        "per_gate": per_gate,
    }
    print(json.dumps(summary) if as_json else "\n".join(f"{k:22s} {v}" for k, v in sorted(outcomes.items())))
    return 0
