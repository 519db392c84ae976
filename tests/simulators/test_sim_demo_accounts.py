"""The demo's logins between them hold every position a current SOP step names, so that every SOP
can be walked in the demo (no demo login held the head of office's position, so tpi-09's decision
letter and the endorsements could never be signed)."""

from __future__ import annotations

from central.workflows.positions import ROLE_DEFAULTS, SYSTEM, BY_KEY
from central.workflows.registry import load_registry
from simulators.demo_accounts import DEMO_ACCOUNTS


def _held() -> dict[str, set[str]]:
    held: dict[str, set[str]] = {}
    for account in DEMO_ACCOUNTS:
        for position in (*ROLE_DEFAULTS[account.role], *account.positions):
            held.setdefault(position, set()).add(account.username)
    return held


def test_every_position_a_step_names_is_held_by_a_demo_login() -> None:
    held = _held()
    missing = {
        position: definition.id
        for definition in load_registry().sorted()
        for step in definition.steps
        for position in step.positions
        if position != SYSTEM and position not in held
    }
    assert not missing, f"no demo login holds: {missing}"


def test_demo_logins_name_real_positions_and_are_unique() -> None:
    assert all(position in BY_KEY for account in DEMO_ACCOUNTS for position in account.positions)
    names = [account.username for account in DEMO_ACCOUNTS]
    assert len(names) == len(set(names))
