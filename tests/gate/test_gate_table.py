"""The transition table's graph, its guards and actions, the generated docs, and screen texts."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from edge.gate.doctable import DOCS, with_table
from edge.gate.errors import TransitionTableError
from edge.gate.machine import GUARD_NAMES, GateMachine
from edge.gate.messages import MESSAGES, text
from edge.gate.states import State
from edge.gate.table import TRANSITIONS, Transition, index


def successors(state: State) -> set[State]:
    return {row.target for row in TRANSITIONS if row.source is state and row.target is not None}


def reachable(start: State) -> set[State]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in successors(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_every_state_is_reachable_from_idle() -> None:
    """An unreachable state is dead code the SOP analysis thought it needed."""
    assert reachable(State.IDLE) == set(State)


@pytest.mark.parametrize("state", list(State))
def test_every_state_has_a_way_out(state: State) -> None:
    """A trap state would strand a traveler (or the gate) for ever."""
    assert successors(state) - {state}


@pytest.mark.parametrize("state", list(State))
def test_emergency_and_fault_reachable_from_everywhere(state: State) -> None:
    """The fire alarm must act from any state; a fault must be reachable from any state."""
    if state is not State.EMERGENCY:
        assert State.EMERGENCY in successors(state), "emergency must be one step away"
    if state not in (State.EMERGENCY, State.FAULT):
        assert State.FAULT in successors(state)
    assert State.FAULT in reachable(state) and State.EMERGENCY in reachable(state)


def test_every_state_can_get_back_to_idle() -> None:
    """Every state must lead back to serving travelers."""
    for state in State:
        assert State.IDLE in reachable(state), state


def test_rows_cite_the_sop_and_name_known_guards() -> None:
    """Rows without a source or with a misspelt guard would silently never match."""
    GateMachine()  # checks guards and actions at construction
    for row in TRANSITIONS:
        assert row.sop.strip()
        for term, _ in row.guard_terms():
            assert term in GUARD_NAMES


def test_unguarded_row_before_others_is_rejected() -> None:
    """A catch-all row hiding later rows is a table bug that must fail loudly."""
    rows = (
        Transition(State.IDLE, "reset", None, State.FAULT, None, "x"),
        Transition(State.IDLE, "reset", "alarm_active", State.IDLE, None, "x"),
    )
    with pytest.raises(TransitionTableError):
        index(rows)
    with pytest.raises(TransitionTableError):
        index((Transition(State.IDLE, "no_such_event", None, State.IDLE, None, "x"),))


def test_docs_table_is_current() -> None:
    """docs/gate.md must show the table the machine runs: regenerate with python -m edge.gate.doctable."""
    current = Path(DOCS).read_text(encoding="utf-8")
    assert with_table(current) == current


@pytest.mark.parametrize("state", list(State))
def test_every_state_has_indonesian_and_english_text(state: State) -> None:
    """The traveler screen must never show a raw key."""
    assert state.value in MESSAGES
    entry = MESSAGES[state.value]
    assert entry.id.strip() and entry.en.strip() and entry.id != entry.en


def test_text_lookup() -> None:
    assert text("exit_open", "en").startswith("Please proceed")
    assert text("exit_open").startswith("Silakan lanjutkan")
    assert text("no_such_key") == "no_such_key"
