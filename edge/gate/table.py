"""The gate's transition table, as data: rows of (source, event, guard, target, action, SOP §).

Rows for one (source, event) are tried in order and the first whose guard holds wins (STYLE §4.1).
A guard is a named fact, or several joined by `` & ``; a ``!`` negates one. ``target=None`` is an
internal transition: the action runs, the state stays and no timers are cancelled. ``ANY`` rows
are expanded here into one row per state, so the table the tests walk and the docs print is the
table the machine runs. The machine checks every guard and action name at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.gate.errors import TransitionTableError
from edge.gate.events import EVENT_NAMES
from edge.gate.states import MANTRAP_STATES, State

S = State


@dataclass(frozen=True)
class Transition:
    source: State
    event: str
    guard: str | None
    target: State | None  # None: internal transition
    action: str | None
    sop: str

    def guard_terms(self) -> list[tuple[str, bool]]:
        """(fact, expected value) pairs of the guard."""
        if not self.guard:
            return []
        terms = []
        for raw in self.guard.split("&"):
            term = raw.strip()
            terms.append((term[1:], False) if term.startswith("!") else (term, True))
        return terms


def _row(
    source: State,
    event: str,
    guard: str | None,
    target: State | None,
    action: str | None,
    sop: str,
) -> Transition:
    return Transition(source, event, guard, target, action, sop)


# fmt: off
_SPECIFIC: list[Transition] = [
    # --- step 3: the document scan (5 s for reading and checking together)
    _row(S.IDLE, "document_presented", None, S.READING_DOCUMENT, "start_transaction", "tpi-08 step 3"),
    _row(S.IDLE, "out_of_service", None, S.OUT_OF_SERVICE, "audit_command", "§8 (derived)"),
    _row(S.READING_DOCUMENT, "document_read", "document_unreadable", S.IDLE, "refuse_unreadable", "B1"),
    _row(S.READING_DOCUMENT, "document_read", None, S.CHECKING, "record_traveler", "tpi-08 step 3"),
    _row(S.READING_DOCUMENT, "timeout", "timer_scan", S.IDLE, "refuse_scan_timeout", "§5 scan 5 s"),
    _row(S.CHECKING, "document_checked", "document_invalid", S.IDLE, "refuse_invalid", "B2"),
    _row(S.CHECKING, "document_checked", "passback_recent", S.IDLE, "refuse_passback", "§3 last movement (decided)"),
    _row(S.CHECKING, "document_checked", "watchlist_identical", S.ENTRY_OPEN, "admit_for_hold", "B3, step 4"),
    _row(S.CHECKING, "document_checked", None, S.ENTRY_OPEN, "admit", "tpi-08 step 4"),
    _row(S.CHECKING, "timeout", "timer_scan", S.IDLE, "refuse_scan_timeout", "§5 scan 5 s"),
    # --- step 4: entry door opens, traveler walks in, door closes behind
    _row(S.ENTRY_OPEN, "door_opened", "is_entry", None, "entry_opened", "tpi-08 step 4"),
    _row(S.ENTRY_OPEN, "person_entered", None, None, "close_entry_behind", "tpi-08 step 4"),
    _row(S.ENTRY_OPEN, "door_obstructed", "is_entry", None, "close_entry", "tpi-08 step 4"),
    _row(S.ENTRY_OPEN, "door_closed", "is_entry & traveler_inside & hold", S.HELD, "hold", "B3"),
    _row(S.ENTRY_OPEN, "door_closed", "is_entry & traveler_inside", S.INSIDE, None, "tpi-08 step 4"),
    _row(S.ENTRY_OPEN, "door_closed", "is_entry", S.IDLE, "abandon", "step 4 (derived: nobody entered)"),
    _row(S.ENTRY_OPEN, "timeout", "timer_walk_in", None, "close_entry_unused", "step 4 (derived)"),
    _row(S.ENTRY_OPEN, "tailgating", None, S.RETURN_TO_COUNTER, "stop_for_tailgating", "issue 3.3 tailgating"),
    # --- steps 5-6: fingerprint, then face (1:1)
    _row(S.INSIDE, "finger_placed", None, S.FINGERPRINT, None, "tpi-08 step 5"),
    _row(S.INSIDE, "timeout", "timer_finger", S.AWAITING_SUPERVISOR, "fail_finger_absent", "B4"),
    _row(S.FINGERPRINT, "fingerprint_result", "fingerprint_match", S.FACE, "record_fingerprint", "tpi-08 step 5"),
    _row(S.FINGERPRINT, "fingerprint_result", None, S.AWAITING_SUPERVISOR, "record_fingerprint", "B4"),
    _row(S.FACE, "face_presented", None, None, "verify_face", "tpi-08 step 6"),
    _row(S.FACE, "face_result", "face_match", S.EXIT_OPEN, "record_face", "tpi-08 step 6, B6"),
    _row(S.FACE, "face_result", None, S.AWAITING_SUPERVISOR, "record_face", "B5"),
    _row(S.FACE, "timeout", "timer_face", S.AWAITING_SUPERVISOR, "fail_face_absent", "B5"),
    # --- B4/B5: the supervisor decides (retry limit and timeout decided in docs/gate.md)
    _row(S.AWAITING_SUPERVISOR, "grant_retry", "retry_left & failed_fingerprint", S.INSIDE, "count_retry", "B4, step 5 remark"),
    _row(S.AWAITING_SUPERVISOR, "grant_retry", "retry_left & !failed_fingerprint", S.FACE, "count_retry", "B5, step 6 remark"),
    _row(S.AWAITING_SUPERVISOR, "send_to_counter", None, S.RETURN_TO_COUNTER, "refer_by_supervisor", "B4/B5, step 7"),
    _row(S.AWAITING_SUPERVISOR, "timeout", "timer_supervisor", S.RETURN_TO_COUNTER, "refer_on_timeout", "B4/B5 (decided)"),
    # --- B3: held until an officer takes over
    _row(S.HELD, "acknowledge_alarm", "alarm_active", None, "acknowledge", "B3 (derived)"),
    _row(S.HELD, "release_held", "reason_given", S.RETURN_TO_COUNTER, "release_to_officer", "B3 (derived), tpi-03 step 6"),
    _row(S.HELD, "tailgating", None, None, "report_anomaly", "issue 3.3 tailgating"),
    _row(S.HELD, "face_presented", None, None, "verify_face", "B3 (decided: the officer sees who is held)"),
    _row(S.HELD, "face_result", None, None, "record_hold_face", "B3 (decided: the officer sees who is held)"),
    # --- step 7: entry reopens, traveler leaves to a manual counter
    _row(S.RETURN_TO_COUNTER, "door_unlocked", "is_entry", None, "open_entry", "tpi-08 step 7"),
    _row(S.RETURN_TO_COUNTER, "door_opened", "is_entry", None, "entry_reopened", "tpi-08 step 7"),
    _row(S.RETURN_TO_COUNTER, "person_backed_out", "mantrap_empty", None, "close_entry", "tpi-08 step 7"),
    _row(S.RETURN_TO_COUNTER, "mantrap_clear", None, None, "close_entry", "tpi-08 step 7"),
    _row(S.RETURN_TO_COUNTER, "door_obstructed", "is_entry", None, "close_entry", "tpi-08 step 7"),
    _row(S.RETURN_TO_COUNTER, "door_closed", "is_entry & mantrap_empty", S.IDLE, None, "tpi-08 step 7"),
    _row(S.RETURN_TO_COUNTER, "door_closed", "is_entry", None, "open_entry", "step 7: someone is still inside"),
    _row(S.RETURN_TO_COUNTER, "timeout", "timer_walk_out", None, "report_lingering", "step 7 (derived)"),
    _row(S.RETURN_TO_COUNTER, "lane_clear", "doors_shut", S.IDLE, "clear_lane", "step 7 (decided: supervisor sees the lane empty)"),
    _row(S.RETURN_TO_COUNTER, "lane_clear", None, None, "clear_lane", "step 7 (decided: supervisor sees the lane empty)"),
    _row(S.RETURN_TO_COUNTER, "tailgating", None, None, "report_anomaly", "issue 3.3 tailgating"),
    # --- steps 8-9: exit opens, crossing recorded, traveler leaves
    _row(S.EXIT_OPEN, "door_unlocked", "is_exit", None, "open_exit", "tpi-08 step 8"),
    _row(S.EXIT_OPEN, "door_opened", "is_exit", None, "record_crossing", "tpi-08 step 8, B6"),
    _row(S.EXIT_OPEN, "person_exited", "mantrap_empty", None, "close_exit", "tpi-08 step 9"),
    _row(S.EXIT_OPEN, "mantrap_clear", None, None, "close_exit", "tpi-08 step 9"),
    _row(S.EXIT_OPEN, "door_obstructed", "is_exit", None, "close_exit", "tpi-08 step 9"),
    _row(S.EXIT_OPEN, "door_closed", "is_exit & mantrap_empty", S.IDLE, None, "tpi-08 step 9"),
    _row(S.EXIT_OPEN, "door_closed", "is_exit", None, "open_exit", "step 9: someone is still inside"),
    _row(S.EXIT_OPEN, "timeout", "timer_walk_out", None, "report_lingering", "step 9 (derived)"),
    _row(S.EXIT_OPEN, "lane_clear", "doors_shut", S.IDLE, "clear_lane", "step 9 (decided: supervisor sees the lane empty)"),
    _row(S.EXIT_OPEN, "lane_clear", None, None, "clear_lane", "step 9 (decided: supervisor sees the lane empty)"),
    _row(S.EXIT_OPEN, "tailgating", None, None, "report_anomaly", "issue 3.3 tailgating"),
    # --- supervisor service commands
    _row(S.OUT_OF_SERVICE, "back_in_service", "doors_shut & !fault_input & !emergency_input", S.IDLE, "audit_command", "§8 (derived)"),
    _row(S.OUT_OF_SERVICE, "reset", None, None, "close_all_doors", "§8 (derived)"),
    _row(S.EMERGENCY, "acknowledge_alarm", "alarm_active", None, "acknowledge", "issue 3.3 emergency"),
    _row(S.EMERGENCY, "reset", "!emergency_input", S.OUT_OF_SERVICE, "reset_to_safe", "issue 3.7 reset"),
    _row(S.EMERGENCY, "emergency", None, None, None, "issue 3.3 emergency"),
    _row(S.EMERGENCY, "fault", None, None, "note_fault", "issue 3.3 fault"),
    _row(S.FAULT, "acknowledge_alarm", "alarm_active", None, "acknowledge", "issue 3.3 fault"),
    _row(S.FAULT, "reset", "!fault_input & !emergency_input", S.OUT_OF_SERVICE, "reset_to_safe", "issue 3.7 reset"),
    _row(S.FAULT, "fault", None, None, "note_fault", "issue 3.3 fault"),
]
# fmt: on

_WALKING_TAILGATE_STATES = (S.INSIDE, S.FINGERPRINT, S.FACE, S.AWAITING_SUPERVISOR)


def _generated() -> list[Transition]:
    rows: list[Transition] = []
    for state in State:
        if state in _WALKING_TAILGATE_STATES:
            rows.append(
                _row(
                    state,
                    "tailgating",
                    None,
                    S.RETURN_TO_COUNTER,
                    "stop_for_tailgating",
                    "issue 3.3 tailgating",
                )
            )
        if state in MANTRAP_STATES or state in (S.IDLE, S.OUT_OF_SERVICE):
            rows.append(
                _row(
                    state,
                    "timeout",
                    "timer_door",
                    S.FAULT,
                    "door_timed_out",
                    "§5 door 1 s; issue 3.3 fault",
                )
            )
        if state is not S.EMERGENCY:
            rows.append(
                _row(
                    state,
                    "emergency",
                    None,
                    S.EMERGENCY,
                    "enter_emergency",
                    "issue 3.3 emergency",
                )
            )
        if state not in (S.EMERGENCY, S.FAULT):
            rows.append(_row(state, "fault", None, S.FAULT, "enter_fault", "issue 3.3 fault"))
    return rows


TRANSITIONS: tuple[Transition, ...] = tuple(_SPECIFIC + _generated())


def index(rows: tuple[Transition, ...]) -> dict[tuple[State, str], list[Transition]]:
    by_key: dict[tuple[State, str], list[Transition]] = {}
    for row in rows:
        if row.event not in EVENT_NAMES:
            raise TransitionTableError(f"row {row}: unknown event {row.event!r}")
        by_key.setdefault((row.source, row.event), []).append(row)
    for key, group in by_key.items():
        for row in group[:-1]:
            if row.guard is None:
                raise TransitionTableError(f"{key}: an unguarded row hides the rows after it")
    return by_key


def render_markdown(rows: tuple[Transition, ...] = TRANSITIONS) -> str:
    """The table as Markdown, for docs/gate.md (a test fails when the docs are stale)."""
    lines = [
        "| State | Event | Guard | Target | Action | SOP |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = row.target.value if row.target is not None else "(stays)"
        lines.append(
            f"| {row.source.value} | {row.event} | {row.guard or ''} | {target} | {row.action or ''} | {row.sop} |"
        )
    return "\n".join(lines) + "\n"
