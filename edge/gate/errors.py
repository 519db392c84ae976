"""Errors of the gate transaction layer (machine and runtime).

The tree (each leaf also inherits the builtin it resembles)::

    GateError
    ├── GateConfigError (ValueError)       a gate setting is out of bounds or inconsistent
    ├── TransitionTableError (ValueError)  the transition table is malformed (caught at import)
    └── RuntimeStopped (RuntimeError)      the runtime was asked to act after ``stop()``

An impossible event is *not* an exception: ``GateMachine.handle`` returns a ``Decision`` with
``rejected`` set, logs it and counts it, so a confused sensor can never kill a gate.
"""

from __future__ import annotations


class GateError(Exception):
    """Base of every error raised by ``edge.gate``."""


class GateConfigError(GateError, ValueError):
    """A gate setting is out of bounds or inconsistent."""


class TransitionTableError(GateError, ValueError):
    """The transition table names an unknown state, event or guard."""


class RuntimeStopped(GateError, RuntimeError):
    """The gate runtime was used after ``stop()``."""
