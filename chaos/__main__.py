"""``python -m chaos``: the chaos suite (``make chaos``); ends with one JSON line on stdout.

    python -m chaos                      full form, both stacks (>= 5,000 crossings)
    python -m chaos --short              the form ``make test`` runs (seconds, not minutes)
    python -m chaos --stack services     Mosquitto + PostgreSQL only (or: embedded)
    python -m chaos --central-down-s 300 keep central stopped for five minutes

Exit status 1 when anything is lost or duplicated, a forgery was accepted, poison stopped
ingest, or any scenario failed; the JSON line says which.
"""

from __future__ import annotations

import argparse
import json
import sys

from chaos.suite import Sizes, combine, run_stack, violated

FULL_MINIMUM = 5_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="the short form (make test)")
    parser.add_argument("--stack", choices=["services", "embedded", "both"], default="both")
    parser.add_argument("--central-down-s", type=float, default=None, help="how long central stays stopped")
    parser.add_argument("--minimum", type=int, default=None,
                        help="crossings the gates play per stack before they stop (full form: 5,000 over the stacks)")
    parser.add_argument("--converge-s", type=float, default=None, help="longest wait for central to catch up")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, journals, outboxes)")
    args = parser.parse_args(argv)
    sizes = Sizes.short() if args.short else Sizes.full()
    if args.central_down_s is not None:
        from dataclasses import replace

        sizes = replace(sizes, central_down_s=args.central_down_s)
    stacks = ["services", "embedded"] if args.stack == "both" else [args.stack]
    from dataclasses import replace

    if not args.short:
        minimum = args.minimum or -(-FULL_MINIMUM // len(stacks))
        # seven scenario gates share the crossings; the message and gap gates add their own
        sizes = replace(sizes, minimum=minimum, per_gate=-(-minimum // 7))
    if args.converge_s is not None:
        sizes = replace(sizes, converge_s=args.converge_s)
    report = combine([run_stack(stack, sizes, keep=args.keep) for stack in stacks])
    problems = violated(report, 0 if args.short else FULL_MINIMUM)
    report["violations"] = problems
    print(json.dumps(report), flush=True)
    print(f"command: {sys.executable} -m chaos {' '.join(argv if argv is not None else sys.argv[1:])}",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
