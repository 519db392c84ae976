"""Loading the workflow definitions shipped in ``definitions/`` (one JSON file per SOP).

Families of SOPs share steps through fragments in ``definitions/fragments/``: the stay-permit
approval chain through the Regional Office and the Directorate General (doc-04/05/07/09), the
passport pickup (doc-10 to doc-13), the Head of Office's signature that may send a draft back
(int-02/03/04). A definition includes a fragment where its steps go::

    {"include": "kakanim-signs", "prefix": "warrant_",
     "params": {"document_en": "detention warrant", ...},
     "exits": {"signed": "search", "returned": "draft_warrant"}}

The fragment's step ids (and the steps it names in ``approves``, ``within`` and its targets) get
the prefix; ``$name`` in its strings is replaced by the include's params; a target written
``@name`` leaves the fragment through the include's exit of that name. Its documents join the
definition's, prefixed too. A string that is only ``$name`` takes the param's value as it is
(a time standard, a list of effects), so a family can differ in more than words. The engine only ever sees the resolved definition.

Definitions are versioned and retained. ``definitions/*.json`` are the current versions, which new
cases open on; ``definitions/retired/<id>.v<N>.json`` keeps each earlier version that cases may
still run on, as it was shipped (a file in the first schema is read through
:mod:`central.workflows.legacy`). A case continues on the version it was opened with:
``registry.get(id, version)``. Changing a definition's steps means raising its ``version`` and
moving the old file to ``retired/`` first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from central.workflows import legacy
from central.workflows.model import WorkflowDefinition

_WHOLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_RETIRED_NAME = re.compile(r"^(?P<id>[a-z0-9-]+)\.v(?P<version>[1-9][0-9]*)$")
DEFINITIONS_DIR = Path(__file__).with_name("definitions")
FRAGMENTS_DIR = DEFINITIONS_DIR / "fragments"
RETIRED_DIR = DEFINITIONS_DIR / "retired"


class DefinitionError(ValueError):
    """A definition or fragment file that does not resolve or validate."""


class VersionNotRetained(KeyError):
    """A workflow exists but the version a case runs on is not installed (not kept in retired/)."""

    def __init__(self, workflow_id: str, version: int, current: int) -> None:
        super().__init__(f"{workflow_id} v{version} is not installed (current: v{current}; "
                         f"earlier versions are kept as definitions/retired/{workflow_id}.v{version}.json)")
        self.workflow_id = workflow_id
        self.version = version
        self.current = current

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class WorkflowRegistry:
    definitions: dict[str, WorkflowDefinition]  # the current version of each workflow
    retired: dict[tuple[str, int], WorkflowDefinition] = field(default_factory=dict)

    def get(self, workflow_id: str, version: int | None = None) -> WorkflowDefinition:
        """The current definition, or the given *version* of it (current or retired)."""
        try:
            current = self.definitions[workflow_id]
        except KeyError:
            raise KeyError(f"no workflow {workflow_id!r}") from None
        if version is None or version == current.version:
            return current
        try:
            return self.retired[(workflow_id, version)]
        except KeyError:
            raise VersionNotRetained(workflow_id, version, current.version) from None

    def versions(self, workflow_id: str) -> list[int]:
        """Every installed version of *workflow_id*, oldest first."""
        current = self.get(workflow_id)
        return sorted({current.version, *(v for (w, v) in self.retired if w == workflow_id)})

    def all_versions(self) -> list[WorkflowDefinition]:
        """Current and retired definitions, by id then version."""
        return sorted([*self.definitions.values(), *self.retired.values()], key=lambda d: (d.id, d.version))

    def by_sop(self, sop_id: str) -> WorkflowDefinition:
        for definition in self.definitions.values():
            if definition.sop_id == sop_id:
                return definition
        raise KeyError(f"no workflow for SOP {sop_id!r}")

    def for_sop(self, sop_id: str) -> list[WorkflowDefinition]:
        return sorted((d for d in self.definitions.values() if d.sop_id == sop_id), key=lambda d: d.id)

    def sorted(self) -> list[WorkflowDefinition]:
        return sorted(self.definitions.values(), key=lambda d: d.id)


def _substitute(value: Any, params: dict[str, Any], where: str) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole is not None and whole.group(1) in params:
            return params[whole.group(1)]  # "$examine_time" stands for a time standard, a list ...
        try:
            return Template(value).substitute({k: str(v) for k, v in params.items()})
        except KeyError as exc:
            raise DefinitionError(f"{where}: no value for ${exc.args[0]}") from None
        except ValueError as exc:
            raise DefinitionError(f"{where}: {exc}") from None
    if isinstance(value, list):
        return [_substitute(v, params, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, params, where) for k, v in value.items()}
    return value


def _target(value: str | None, prefix: str, exits: dict[str, str | None], where: str) -> str | None:
    if value is None:
        return None
    if value.startswith("@"):
        # "@name" leaves through an exit; an inner fragment's exit may itself be "@outer".
        name = value[1:]
        if name not in exits:
            raise DefinitionError(f"{where}: the include gives no exit {name!r}")
        return exits[name]
    return prefix + value


def _expand(include: dict[str, Any], fragments: dict[str, dict[str, Any]], where: str,
            depth: int = 0) -> tuple[list[dict], list[dict]]:
    name = include.get("include")
    if name not in fragments:
        raise DefinitionError(f"{where}: no fragment {name!r}")
    if depth > 4:
        raise DefinitionError(f"{where}: fragments include each other too deeply ({name})")
    unknown = set(include) - {"include", "prefix", "params", "exits"}
    if unknown:
        raise DefinitionError(f"{where}: include {name!r} has unknown keys {sorted(unknown)}")
    fragment = fragments[name]
    prefix = include.get("prefix", "")
    exits: dict[str, str | None] = include.get("exits", {})
    declared = set(fragment.get("exits", []))
    if set(exits) != declared:
        raise DefinitionError(f"{where}: include {name!r} must give exits {sorted(declared)}, got {sorted(exits)}")
    params: dict[str, Any] = dict(include.get("params", {}))
    params.setdefault("reference", "$reference")  # filled per case when a message is sent
    here = f"{where} (fragment {name})"
    # A fragment may include another: its steps come back with their own prefix and with targets
    # already mapped to this fragment's step ids or exits (written "@name" in the inner exits).
    inner_steps, documents = _resolve_steps(_substitute(fragment["steps"], params, here), fragments, here, depth + 1)
    steps: list[dict] = []
    for raw in inner_steps:
        step = dict(raw)
        step["id"] = prefix + step["id"]
        if "next" in step:
            step["next"] = _target(step["next"], prefix, exits, here)
        if "branches" in step:
            step["branches"] = [{**b, "to": _target(b.get("to"), prefix, exits, here)} for b in step["branches"]]
        if "approves" in step:
            step["approves"] = [prefix + s for s in step["approves"]]
        if "time" in step and step["time"].get("within"):
            step["time"] = {**step["time"], "within": prefix + step["time"]["within"]}
        if "documents" in step:
            step["documents"] = [prefix + d for d in step["documents"]]
        steps.append(step)
    own = _substitute(fragment.get("documents", []), params, here)
    documents = [{**d, "key": prefix + d["key"]} for d in [*documents, *own]]
    return steps, documents


def _resolve_steps(items: list[dict], fragments: dict[str, dict[str, Any]], where: str,
                   depth: int = 0) -> tuple[list[dict], list[dict]]:
    steps: list[dict] = []
    documents: list[dict] = []
    for item in items:
        if "include" in item:
            included, docs = _expand(item, fragments, where, depth)
            steps += included
            documents += [d for d in docs if d["key"] not in {x["key"] for x in documents}]
        else:
            steps.append(item)
    return steps, documents


def resolve(raw: dict[str, Any], fragments: dict[str, dict[str, Any]], where: str) -> dict[str, Any]:
    """The definition with its includes replaced by the fragments' steps and documents."""
    steps, included = _resolve_steps(raw.get("steps", []), fragments, where)
    documents: list[dict] = list(raw.get("documents", []))
    documents += [d for d in included if d["key"] not in {x["key"] for x in documents}]
    return {**raw, "steps": steps, "documents": documents}


def load_fragments(directory: Path = FRAGMENTS_DIR) -> dict[str, dict[str, Any]]:
    fragments: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return fragments
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("id") != path.stem:
            raise DefinitionError(f"fragment {path.name}: its id must be {path.stem!r}")
        fragments[path.stem] = data
    return fragments


def load_registry(directory: Path = DEFINITIONS_DIR) -> WorkflowRegistry:
    """Parse, resolve and validate every definition; an invalid file raises, naming the file."""
    fragments = load_fragments(directory / "fragments")
    definitions: dict[str, WorkflowDefinition] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            definition = WorkflowDefinition.model_validate(resolve(raw, fragments, path.name))
        except (ValueError, KeyError, TypeError) as exc:
            raise DefinitionError(f"workflow definition {path.name}: {exc}") from exc
        if definition.id in definitions:
            raise DefinitionError(f"workflow definition {path.name}: id {definition.id!r} defined twice")
        definitions[definition.id] = definition
    _check_links(definitions)
    return WorkflowRegistry(definitions, load_retired(directory / "retired", fragments, definitions))


def load_retired(directory: Path, fragments: dict[str, dict[str, Any]],
                 current: dict[str, WorkflowDefinition]) -> dict[tuple[str, int], WorkflowDefinition]:
    """The retired versions kept for cases opened on them, named ``<id>.v<N>.json``."""
    retired: dict[tuple[str, int], WorkflowDefinition] = {}
    if not directory.is_dir():
        return retired
    for path in sorted(directory.glob("*.json")):
        name = _RETIRED_NAME.match(path.stem)
        if name is None:
            raise DefinitionError(f"retired definition {path.name}: name it <workflow id>.v<version>.json")
        workflow_id, version = name.group("id"), int(name.group("version"))
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version", 1) != version:
                raise DefinitionError(f"its version is {raw.get('version', 1)}, its name says {version}")
            raw = legacy.upgrade(raw, path.name) if legacy.is_schema1(raw) else resolve(raw, fragments, path.name)
            definition = WorkflowDefinition.model_validate({**raw, "version": version})
        except (ValueError, KeyError, TypeError) as exc:
            raise DefinitionError(f"retired definition {path.name}: {exc}") from exc
        if definition.id != workflow_id:
            raise DefinitionError(f"retired definition {path.name}: its id is {definition.id!r}")
        now = current.get(workflow_id)
        if now is None:
            raise DefinitionError(f"retired definition {path.name}: no current workflow {workflow_id!r}")
        if version >= now.version:
            raise DefinitionError(f"retired definition {path.name}: v{version} is not older than the "
                                  f"current v{now.version}")
        retired[(workflow_id, version)] = definition
    return retired


def _check_links(definitions: dict[str, WorkflowDefinition]) -> None:
    for definition in definitions.values():
        for follow_up in definition.follow_ups:
            if follow_up not in definitions:
                raise DefinitionError(f"{definition.id}: follow-up {follow_up!r} is not a workflow")
        for step in definition.steps:
            for effect in step.effects:
                if effect.kind != "open_case":
                    continue
                target = definitions.get(effect.workflow or "")
                if target is None:
                    raise DefinitionError(f"{definition.id}: step {step.id!r} opens unknown workflow {effect.workflow!r}")
                if effect.start_at:
                    entry = target.entries.get(effect.start_at, effect.start_at)
                    if entry not in {s.id for s in target.steps}:
                        raise DefinitionError(
                            f"{definition.id}: step {step.id!r} opens {target.id} at unknown step {effect.start_at!r}"
                        )
