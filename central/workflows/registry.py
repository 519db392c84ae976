"""Loading the workflow definitions shipped in ``definitions/`` (one JSON file per SOP)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from central.workflows.model import WorkflowDefinition

DEFINITIONS_DIR = Path(__file__).with_name("definitions")


@dataclass(frozen=True)
class WorkflowRegistry:
    definitions: dict[str, WorkflowDefinition]

    def get(self, workflow_id: str) -> WorkflowDefinition:
        try:
            return self.definitions[workflow_id]
        except KeyError:
            raise KeyError(f"no workflow {workflow_id!r}") from None

    def by_sop(self, sop_id: str) -> WorkflowDefinition:
        for definition in self.definitions.values():
            if definition.sop_id == sop_id:
                return definition
        raise KeyError(f"no workflow for SOP {sop_id!r}")


def load_registry(directory: Path = DEFINITIONS_DIR) -> WorkflowRegistry:
    """Parse and validate every definition; an invalid file raises, naming the file."""
    definitions: dict[str, WorkflowDefinition] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            definition = WorkflowDefinition.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise ValueError(f"workflow definition {path.name}: {exc}") from exc
        if definition.id in definitions:
            raise ValueError(f"workflow definition {path.name}: id {definition.id!r} defined twice")
        definitions[definition.id] = definition
    return WorkflowRegistry(definitions)
