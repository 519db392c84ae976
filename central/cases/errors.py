"""Errors of the cases package.

CaseError (ValueError)
├── CaseNotFound (CaseError, LookupError)     no such case, or not visible to this role
└── CaseRefused (CaseError)                   the workflow does not allow this act (wrong step,
                                              role, missing data, closed case, bad input)
"""

from __future__ import annotations


class CaseError(ValueError):
    """Base of every cases error."""


class CaseNotFound(CaseError, LookupError):
    """No case with that id (or one the user may not see)."""


class CaseRefused(CaseError):
    """The act is not allowed; the message says why in words an officer understands."""
