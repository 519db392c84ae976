"""Generate draft workflow definitions from the SOP digest (shared/sop/sops.json).

``python -m central.workflows.import_sops ../shared/sop/sops.json`` writes one linear draft
(``curated: false``) per SOP that has no curated definition yet, so all 38 SOPs run on the one
engine from the start with their steps, actors and time standards as printed. Drafts keep the
SOP's decision questions as notes but run straight through; curating one means adding its
branches and roles by hand and setting ``curated: true`` (the checkpoint escalations are).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from central.workflows.model import WorkflowDefinition
from central.workflows.registry import DEFINITIONS_DIR, load_registry

HOST_ROLES = {
    "backoffice": ["backoffice", "officer"],
    "escalation": ["officer", "supervisor"],
    "cctv": ["cctv_operator", "supervisor"],
    "it": ["admin"],
    "edge": ["supervisor"],
}


def _roles(host: str, actor: str) -> list[str]:
    lowered = actor.lower()
    if any(word in lowered for word in ("head of", "kepala", "supervisor", "kabid", "kasi")):
        return ["supervisor", "admin"] if host != "it" else ["admin"]
    return HOST_ROLES.get(host, ["officer"])


def _step_id(index: int, action: str) -> str:
    words = re.sub(r"[^a-z0-9 ]", "", action.lower()).split()[:4]
    return f"s{index:02d}_" + "_".join(words) if words else f"s{index:02d}"


def draft(sop: dict) -> dict:
    steps = sop.get("steps") or []
    ids = [_step_id(i + 1, s.get("action_en") or "")[:48].rstrip("_") for i, s in enumerate(steps)]
    out_steps = []
    notes = ["Generated draft from the SOP digest: linear, decisions recorded as notes, roles inferred from the actor column."]
    for i, step in enumerate(steps):
        seconds = step.get("time_seconds")
        rng = step.get("time_range_seconds")
        time = {"as_printed": step.get("time_standard") or "Kondisional"}
        if rng:
            time.update(seconds=int(rng[0]) or None, max_seconds=int(rng[1]) or None)
            time = {k: v for k, v in time.items() if v is not None}
        elif seconds:
            time["seconds"] = int(seconds)
        if step.get("decision"):
            notes.append(f"Step {step.get('no') or step.get('seq')}: {step['decision'].get('question_en', '')}")
        out_steps.append({
            "id": ids[i],
            "sop_no": str(step.get("no") or ""),
            "actor_en": step.get("actor") or "unspecified (actor column empty in the seed)",
            "roles": _roles(sop.get("host", ""), step.get("actor") or ""),
            "action_en": step.get("action_en") or "",
            "time": time,
            "next": ids[i + 1] if i + 1 < len(steps) else None,
        })
    definition = {
        "id": sop["id"],
        "sop_id": sop["id"],
        "title_en": sop.get("title_en", sop["id"]),
        "title_id": sop.get("title_id", ""),
        "host": sop.get("host", "backoffice"),
        "curated": False,
        "start": ids[0],
        "steps": out_steps,
        "outcomes": sop.get("outcomes") or [],
        "notes": notes,
    }
    WorkflowDefinition.model_validate(definition)  # a draft that does not validate is not written
    return definition


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m central.workflows.import_sops PATH/TO/sops.json", file=sys.stderr)
        return 2
    sops = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    registry = load_registry()
    covered = {d.sop_id for d in registry.definitions.values() if d.curated}
    written = 0
    for sop in sops:
        if sop["id"] in covered or not sop.get("steps"):
            continue
        path = DEFINITIONS_DIR / f"{sop['id']}.json"
        path.write_text(json.dumps(draft(sop), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written += 1
    print(f"wrote {written} draft definitions to {DEFINITIONS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
