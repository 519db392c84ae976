"""Errors of the cases package.

CaseError (ValueError)
├── CaseNotFound (CaseError, LookupError)     no such case, or not visible to this role
└── CaseRefused (CaseError)                   the workflow does not allow this act (wrong step,
    │                                         role, missing data, closed case, bad input)
    └── DefinitionMissing                     the workflow version the case runs on is not installed
"""

from __future__ import annotations


class CaseError(ValueError):
    """Base of every cases error."""


class CaseNotFound(CaseError, LookupError):
    """No case with that id (or one the user may not see)."""


class CaseRefused(CaseError):
    """The act is not allowed; the message says why in words an officer understands."""


class DefinitionMissing(CaseRefused):
    """The case runs on a workflow version this installation does not have (not kept in
    ``definitions/retired/``); an administrator may move it to an installed version."""

    def __init__(self, case_id: int, workflow_id: str, version: int, installed: list[int]) -> None:
        newest = max(installed) if installed else None
        fix = (f" An administrator can move it to an installed version, keeping its history: "
               f"autogate sop migrate-case {case_id} --to-version {newest}") if newest else ""
        super().__init__(f"Case {case_id} runs {workflow_id} version {version}, which is not installed here "
                         f"(installed: {', '.join(f'v{v}' for v in installed) or 'none'}); it cannot go on "
                         f"until it runs on an installed version.{fix}")
        self.case_id = case_id
        self.workflow_id = workflow_id
        self.version = version
        self.installed = installed
