"""Versioned definitions: the current ones plus the retired versions cases still run on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from central.workflows import complete_step
from central.workflows.engine import CaseState, WorkflowError
from central.workflows.legacy import ROLE_POSITIONS, is_schema1
from central.workflows.registry import DEFINITIONS_DIR, DefinitionError, VersionNotRetained, load_registry

REGISTRY = load_registry()
FIRST_CURATED = ["gate-referral", "it-05-cctv-alarm", "tpi-03-cekal", "tpi-04-interpol", "tpi-05-refusal",
                 "tpi-06-postponement", "tpi-07-overstay", "tpi-09-carrier-charge"]


def test_the_eight_first_sops_keep_version_1_beside_the_current_version() -> None:
    assert sorted(REGISTRY.retired) == [(w, 1) for w in FIRST_CURATED]
    for workflow_id in FIRST_CURATED:
        assert REGISTRY.versions(workflow_id) == [1, 2]
        assert REGISTRY.get(workflow_id).version == REGISTRY.get(workflow_id, 2).version == 2
        assert REGISTRY.get(workflow_id, 1).version == 1
    with pytest.raises(VersionNotRetained, match="doc-01-passport-issuance-mpaspor v1 is not installed"):
        REGISTRY.get("doc-01-passport-issuance-mpaspor", 1)
    with pytest.raises(KeyError, match="no workflow"):
        REGISTRY.get("nope", 1)


@pytest.mark.parametrize("workflow_id", FIRST_CURATED)
def test_version_1_is_read_as_shipped(workflow_id: str) -> None:
    """The file is the first schema as shipped (roles, answer -> step maps); only the shape changes."""
    raw = json.loads((DEFINITIONS_DIR / "retired" / f"{workflow_id}.v1.json").read_text(encoding="utf-8"))
    assert is_schema1(raw) and "version" not in raw
    v1 = REGISTRY.get(workflow_id, 1)
    assert [s.id for s in v1.steps] == [s["id"] for s in raw["steps"]] and v1.start == raw["start"]
    for step, shipped in zip(v1.steps, raw["steps"], strict=True):
        if shipped.get("branches"):
            assert {b.answer: b.to for b in step.branches} == shipped["branches"]
        else:
            assert step.next == shipped.get("next")
        expected = [p for role in shipped["roles"] for p in ROLE_POSITIONS[role]]
        assert set(step.positions) == set(expected)
        assert step.time.limit == (shipped["time"].get("max_seconds") or shipped["time"].get("seconds"))
        assert step.required_fields == tuple(shipped.get("required_fields", ()))


def test_the_engine_refuses_a_definition_of_another_version() -> None:
    v1, v2 = REGISTRY.get("tpi-06-postponement", 1), REGISTRY.get("tpi-06-postponement")
    state = CaseState(case_id="9", workflow_id=v1.id, workflow_version=1, opened_at_ms=0, current_step="report",
                      current_since_ms=0)
    with pytest.raises(WorkflowError, match="runs tpi-06-postponement v1, not tpi-06-postponement v2"):
        complete_step(v2, state, step_id="report", actor="a", positions={"supervisor_tpi"}, now_ms=1,
                      data={"chronology": "x"})
    done = complete_step(v1, state, step_id="report", actor="a", positions={"supervisor_tpi"}, now_ms=1,
                         data={"chronology": "x"})
    assert (done.status, done.outcome) == ("closed", "departure postponed")


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_DIR, target)
    return target


def test_a_retired_file_must_be_named_for_an_older_version_of_a_current_workflow(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    retired = directory / "retired"
    (retired / "tpi-05-refusal.v1.json").rename(retired / "tpi-05-refusal.json")
    with pytest.raises(DefinitionError, match=r"name it <workflow id>.v<version>.json"):
        load_registry(directory)
    (retired / "tpi-05-refusal.json").rename(retired / "tpi-05-refusal.v2.json")
    with pytest.raises(DefinitionError, match="its version is 1, its name says 2"):
        load_registry(directory)
    current = json.loads((directory / "tpi-05-refusal.json").read_text(encoding="utf-8"))
    (retired / "tpi-05-refusal.v2.json").write_text(json.dumps(current), encoding="utf-8")
    with pytest.raises(DefinitionError, match="v2 is not older than the current v2"):
        load_registry(directory)
    (retired / "tpi-05-refusal.v2.json").unlink()
    (retired / "gate-referral.v1.json").rename(retired / "gate-lane.v1.json")
    with pytest.raises(DefinitionError, match="its id is 'gate-referral'"):
        load_registry(directory)
