"""The gate's states (SOP autogate.md §7; DESIGN.md §3) and what each one shows the traveler."""

from __future__ import annotations

from enum import StrEnum

from edge.hardware.base import Indicator


class State(StrEnum):
    IDLE = "idle"  # siap: waiting for a document
    READING_DOCUMENT = "reading_document"  # step 3: MRZ being read (5 s budget with checking)
    CHECKING = "checking"  # step 3: validity, expiry, watchlist (cekal), anti-passback
    ENTRY_OPEN = "entry_open"  # step 4: entry door opens, traveler walks in, door closes
    INSIDE = "inside"  # traveler in the mantrap, waiting for the finger (step 5)
    FINGERPRINT = "fingerprint"  # step 5: fingerprint captured and matched 1:1 (sidik jari)
    FACE = "face"  # step 6: face captured and matched 1:1 (wajah)
    AWAITING_SUPERVISOR = "awaiting_supervisor"  # B4/B5: on the supervisor's screen
    HELD = "held"  # B3: cekal identik, both doors locked, alarm until acknowledged
    RETURN_TO_COUNTER = "return_to_counter"  # step 7: entry reopens, go to the manual counter
    EXIT_OPEN = "exit_open"  # steps 8-9: exit opens, crossing (perlintasan) recorded
    OUT_OF_SERVICE = "out_of_service"  # closed to travelers by a supervisor
    EMERGENCY = "emergency"  # fire alarm: every door released
    FAULT = "fault"  # a door or sensor failed: motors stopped, nothing opens by itself


# States in which a traveler transaction is running.
TRANSACTION_STATES: frozenset[State] = frozenset(
    {
        State.READING_DOCUMENT,
        State.CHECKING,
        State.ENTRY_OPEN,
        State.INSIDE,
        State.FINGERPRINT,
        State.FACE,
        State.AWAITING_SUPERVISOR,
        State.HELD,
        State.RETURN_TO_COUNTER,
        State.EXIT_OPEN,
    }
)

# States where someone may be inside the mantrap (tailgating matters, doors must be watched).
MANTRAP_STATES: frozenset[State] = frozenset(
    {
        State.ENTRY_OPEN,
        State.INSIDE,
        State.FINGERPRINT,
        State.FACE,
        State.AWAITING_SUPERVISOR,
        State.HELD,
        State.RETURN_TO_COUNTER,
        State.EXIT_OPEN,
    }
)

INDICATORS: dict[State, Indicator] = {
    State.IDLE: Indicator.IDLE,
    State.READING_DOCUMENT: Indicator.WAIT,
    State.CHECKING: Indicator.WAIT,
    State.ENTRY_OPEN: Indicator.PROCEED,
    State.INSIDE: Indicator.WAIT,
    State.FINGERPRINT: Indicator.WAIT,
    State.FACE: Indicator.WAIT,
    State.AWAITING_SUPERVISOR: Indicator.WAIT,
    # A discreet hold (SOP B3, decided in docs/gate.md): the panel shows "wait", the alarm is on
    # the supervisor's console, not on the traveler's lights.
    State.HELD: Indicator.WAIT,
    State.RETURN_TO_COUNTER: Indicator.STOP,
    State.EXIT_OPEN: Indicator.PROCEED,
    State.OUT_OF_SERVICE: Indicator.STOP,
    State.EMERGENCY: Indicator.ALARM,
    State.FAULT: Indicator.STOP,
}
