"""``autogate sop ...``: the SOP workflow definitions, read without a database.

    list [--json] [--digest sops.json] [--all-versions]
                                         one line per SOP (its current version): id, title, steps,
                                         positions, curated, version; --all-versions adds a line per
                                         retired version kept for the cases still running on it
    show SOP_OR_WORKFLOW_ID [--json] [--version N]
                                         the steps of one workflow, with positions and standards
    migrate-case CASE --to-version N [--at-step S] [--by ADMIN]
                                         move an open case to another installed version (needs the
                                         database: central.cases.migrate_cli)

``--digest`` also lists the SOPs of the digest that have no workflow yet (``curated: false``),
so a missing SOP shows instead of silently not being there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from central.workflows.model import WorkflowDefinition
from central.workflows.registry import WorkflowRegistry, load_registry


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autogate sop", description="the SOP workflow definitions")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="one line per SOP")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.add_argument("--digest", type=Path, default=None, help="sops.json: also list SOPs with no workflow")
    listing.add_argument("--all-versions", action="store_true",
                         help="also one line per retired version that cases opened on it still run on")
    show = sub.add_parser("show", help="the steps of one SOP's workflow")
    show.add_argument("id", help="SOP id (tpi-03-cekal-handling) or workflow id (tpi-03-cekal)")
    show.add_argument("--json", action="store_true")
    show.add_argument("--version", type=int, default=None, help="an installed version (default: the current one)")
    return parser


def sop_lines(registry: WorkflowRegistry, digest: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One entry per SOP: its workflows' steps and positions summed up."""
    by_sop: dict[str, list[WorkflowDefinition]] = {}
    for definition in registry.sorted():
        by_sop.setdefault(definition.sop_id, []).append(definition)
    lines = []
    for sop_id, definitions in sorted(by_sop.items()):
        positions: list[str] = []
        for definition in definitions:
            positions += [p for p in definition.positions if p not in positions]
        lines.append({
            "id": sop_id,
            "title": definitions[0].title_en,
            "steps": sum(len(d.steps) for d in definitions),
            "positions": positions,
            "curated": all(d.curated for d in definitions),
            "workflows": [d.id for d in definitions],
            "version": max(d.version for d in definitions),
        })
    for sop in digest or []:
        if sop["id"] not in by_sop:
            lines.append({"id": sop["id"], "title": sop.get("title_en", ""), "steps": 0, "positions": [],
                          "curated": False, "workflows": []})
    return sorted(lines, key=lambda line: line["id"])


def retired_lines(registry: WorkflowRegistry) -> list[dict[str, Any]]:
    """One entry per retired version kept for the cases still running on it."""
    return [{"id": d.sop_id, "title": d.title_en, "steps": len(d.steps), "positions": list(d.positions),
             "curated": d.curated, "workflows": [d.id], "version": d.version, "retired": True}
            for d in sorted(registry.retired.values(), key=lambda d: (d.sop_id, d.version))]


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    registry = load_registry()
    if args.command == "list":
        digest = json.loads(args.digest.read_text(encoding="utf-8")) if args.digest else None
        lines = sop_lines(registry, digest)
        listed = [*lines, *retired_lines(registry)] if args.all_versions else lines
        for line in sorted(listed, key=lambda line: (line["id"], line.get("version", 0))):
            if args.json:
                print(json.dumps(line, ensure_ascii=False))
            else:
                mark = "curated" if line["curated"] else "MISSING"
                version = f"v{line['version']}" + (" retired" if line.get("retired") else "") if "version" in line else ""
                print(f"{line['id']:<44} {version:<11} {line['steps']:>3} steps  {mark:<8} {', '.join(line['positions'])}")
        return 0 if all(line["curated"] for line in lines) else 1
    try:
        definition = registry.get(args.id)
    except KeyError:
        try:
            definition = registry.by_sop(args.id)
        except KeyError:
            print(f"autogate sop: no SOP or workflow {args.id!r}", file=sys.stderr)
            return 2
    if args.version is not None:
        try:
            definition = registry.get(definition.id, args.version)
        except KeyError as exc:
            print(f"autogate sop: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(definition.model_dump_json(indent=1))
        return 0
    print(f"{definition.id} v{definition.version} ({definition.sop_id}): {definition.title_en}")
    for step in definition.steps:
        answers = " | ".join(f"{b.answer} -> {b.to or 'END: ' + (b.outcome or '')}" for b in step.branches)
        then = answers or (step.next or f"END: {step.outcome}")
        wait = f" [waits on {step.waits_on}]" if step.waits_on else ""
        print(f"  {step.sop_no:>6} {step.id:<22} {', '.join(step.positions):<34} "
              f"{step.time.as_printed or '-':<18}{wait} -> {then}")
    return 0
