"""Regenerate the transition table in docs/gate.md from the code.

    .venv/bin/python -m edge.gate.doctable            # rewrite docs/gate.md in place
    .venv/bin/python -m edge.gate.doctable --check    # exit 1 if the docs are stale

The table sits between the two marker comments; everything else in the file is hand-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.gate.table import render_markdown

BEGIN = "<!-- BEGIN GENERATED TRANSITIONS (python -m edge.gate.doctable) -->"
END = "<!-- END GENERATED TRANSITIONS -->"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "gate.md"


def with_table(text: str) -> str:
    """*text* with the generated block replaced by the current table."""
    head, sep, rest = text.partition(BEGIN)
    if not sep:
        raise ValueError(f"marker {BEGIN!r} not found")
    _, sep2, tail = rest.partition(END)
    if not sep2:
        raise ValueError(f"marker {END!r} not found")
    return f"{head}{BEGIN}\n\n{render_markdown()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    parser.add_argument("--path", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    current = args.path.read_text(encoding="utf-8")
    fresh = with_table(current)
    if args.check:
        if fresh != current:
            sys.stderr.write(f"{args.path} is stale: run python -m edge.gate.doctable\n")
            return 1
        return 0
    args.path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
