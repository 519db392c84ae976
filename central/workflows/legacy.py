"""Reading a definition written in the first schema (before positions), kept as it was shipped.

The eight checkpoint SOPs curated first (gate referral, it-05, tpi-03/04/05/06/07/09) ran as
version 1 in that schema: steps named the application *roles* that could take them, branches were
a map from answer to next step, and a standard was ``seconds`` with an optional ``max_seconds``.
Cases opened then must continue on those rules, so their files are kept verbatim (recovered from
commit 92778bb) under ``definitions/retired/`` and read through :func:`upgrade`, which rewrites
only the *shape* into today's model; the steps, their order, branches, standards, documents and
required data stay those of version 1.

Who may take a step: a version-1 step was taken by role; migration 0003 gave each existing user
the positions of their role (``_ROLE_DEFAULTS`` there), so a role here becomes those same
positions, and whoever took the step before can take it now. Two roles had no positions in 0003:
``backoffice`` stood for the administration (the steps it took are the SOP's "Administrasi" /
"Tata Usaha": billing, the bank's receipt, the carrier's payment proof), which today is the
``tata_usaha`` position; ``admin`` stood in for a head of division beside the supervisor on the
same steps, and an administrator holds no SOP position, so it adds none.
"""

from __future__ import annotations

from typing import Any

# role (schema 1) -> the positions its holders act in today; see the module docstring.
ROLE_POSITIONS: dict[str, tuple[str, ...]] = {
    "supervisor": ("supervisor_tpi", "pengawas_autogate"),  # as migration 0003 seeded them
    "officer": ("petugas_tpi",),
    "cctv_operator": ("petugas_tpi",),
    "report_only": ("pusdata_laporan",),
    "backoffice": ("tata_usaha",),
    "admin": (),
}


class LegacyDefinitionError(ValueError):
    """A schema-1 definition this reader cannot turn into today's shape."""


def is_schema1(raw: dict[str, Any]) -> bool:
    """Whether *raw* is written in the first schema (steps name roles, not positions)."""
    return any(isinstance(step, dict) and "roles" in step for step in raw.get("steps", []))


def _positions(step: dict[str, Any], where: str) -> list[str]:
    positions: list[str] = []
    for role in step["roles"]:
        if role not in ROLE_POSITIONS:
            raise LegacyDefinitionError(f"{where}: unknown role {role!r}")
        positions += [p for p in ROLE_POSITIONS[role] if p not in positions]
    if not positions:
        raise LegacyDefinitionError(f"{where}: roles {step['roles']} give no position that may take it")
    return positions


def _time(time: dict[str, Any] | None) -> dict[str, Any]:
    time = dict(time or {})
    result: dict[str, Any] = {"as_printed": time.get("as_printed", "")}
    if time.get("seconds") is not None:
        result["seconds"] = time["seconds"]
        if time.get("max_seconds") is not None:
            result["upto"] = time["max_seconds"]
    elif time.get("max_seconds") is not None:
        result["seconds"] = time["max_seconds"]
    return result


def _step(step: dict[str, Any], where: str) -> dict[str, Any]:
    where = f"{where}: step {step.get('id')!r}"
    upgraded: dict[str, Any] = {
        key: step[key]
        for key in ("id", "sop_no", "actor_en", "actor_id", "action_en", "documents", "required_fields",
                    "question_en")
        if step.get(key) is not None
    }
    upgraded["positions"] = _positions(step, where)
    upgraded["time"] = _time(step.get("time"))
    branches: dict[str, str | None] = step.get("branches") or {}
    if branches:
        # Version 1 closed a case ending on an answer with the step's outcome, else the answer.
        upgraded["branches"] = [
            {"answer": answer, "to": to, "label_en": answer.replace("_", " "),
             **({"outcome": step.get("outcome") or answer} if to is None else {})}
            for answer, to in branches.items()
        ]
    else:
        upgraded["next"] = step.get("next")
        if step.get("next") is None:
            upgraded["outcome"] = step.get("outcome") or "completed"  # version 1's default
        elif step.get("outcome"):
            upgraded["outcome"] = step["outcome"]
    return upgraded


def upgrade(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """*raw* (schema 1) in today's shape, for :class:`~central.workflows.model.WorkflowDefinition`."""
    keep = ("id", "version", "sop_id", "title_en", "title_id", "host", "curated", "start", "documents",
            "outcomes", "notes")
    upgraded = {key: raw[key] for key in keep if key in raw}
    upgraded["steps"] = [_step(step, where) for step in raw.get("steps", [])]
    return upgraded
