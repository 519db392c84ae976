"""Central asks gates to resend what it is missing (holes and a missing tail)."""

from __future__ import annotations

from central.ingest.gaps import MAX_RANGE, MAX_WINDOWS_IN_FLIGHT, missing_runs, resend_requests


def ask(gaps=(), gates=(), now_s=100.0, last_asked=None, grace_s=10.0, repeat_s=60.0):
    return resend_requests(list(gaps), list(gates), now_s=now_s, grace_s=grace_s,
                           last_asked=last_asked if last_asked is not None else {}, repeat_s=repeat_s)


def test_a_hole_is_asked_for_after_the_grace_period_only() -> None:
    gates = [("g1", 20, 20, True)]
    assert ask(gaps=[("g1", 5, 7, 95.0)], gates=gates) == []  # 5 s old: may still be in flight
    [request] = ask(gaps=[("g1", 5, 7, 80.0)], gates=gates)
    assert (request.gate_id, request.from_seq, request.to_seq) == ("g1", 5, 7)


def test_a_missing_tail_is_asked_for_from_the_heartbeat_count() -> None:
    [request] = ask(gates=[("g1", 10, 14, True)])
    assert (request.from_seq, request.to_seq, request.reason) == (11, 14, "missing tail")


def test_offline_gates_are_not_asked_and_repeats_are_spaced() -> None:
    assert ask(gaps=[("g1", 5, 7, 0.0)], gates=[("g1", 20, 20, False)]) == []
    asked = {("g1", 1): 90.0}  # seq 5 lies in the window 1..500
    assert ask(gaps=[("g1", 5, 7, 0.0)], gates=[("g1", 20, 20, True)], last_asked=asked) == []
    assert len(ask(gaps=[("g1", 5, 7, 0.0)], gates=[("g1", 20, 20, True)], last_asked=asked, now_s=151.0)) == 1


def test_large_ranges_are_asked_for_in_bounded_pieces() -> None:
    requests = ask(gaps=[("g1", 1, 10_000, 0.0)], gates=[("g1", 10_001, 10_001, True)])
    assert len(requests) == MAX_WINDOWS_IN_FLIGHT
    assert all(r.to_seq - r.from_seq + 1 == MAX_RANGE for r in requests)
    assert [r.from_seq for r in requests] == [1, 501]
    # While those two are in flight nothing more is asked; once they arrive, the next two are.
    asked = {r.window: 100.0 for r in requests}
    assert ask(gaps=[("g1", 1, 10_000, 0.0)], gates=[("g1", 10_001, 10_001, True)], last_asked=asked, now_s=105.0) == []
    later = ask(gaps=[("g1", 1001, 10_000, 0.0)], gates=[("g1", 10_001, 10_001, True)], last_asked=asked, now_s=105.0)
    assert [(r.from_seq, r.to_seq) for r in later] == [(1001, 1500), (1501, 2000)]


def test_the_issue_gap_is_asked_for_whole_in_one_round() -> None:
    """Issue 18: with 1181..2000 missing, 1181..1680 was asked for twice and 1681..2000 never."""
    requests = ask(gaps=[("g1", 1181, 2000, 0.0)], gates=[("g1", 2000, 2000, True)])
    assert [(r.from_seq, r.to_seq) for r in requests] == [(1181, 1500), (1501, 2000)]


def _simulate(gap_first: int, gap_last: int, *, lose: set[int] = frozenset(), rounds: int = 50) -> tuple[set[int], int]:
    """Rounds of the resolver against a gate that answers each request at once; *lose* are
    seqs whose first resend is lost too. Returns what arrived and the rounds it took."""
    present: list[int] = []
    asked: dict = {}
    lost_once = set(lose)
    now = 100.0
    for round_number in range(1, rounds + 1):
        runs = missing_runs(gap_first, gap_last, sorted(present))
        if not runs:
            return set(present), round_number - 1
        gaps = [("g1", a, b, 0.0) for a, b in runs]
        for request in ask(gaps=gaps, gates=[("g1", gap_last + 1, gap_last + 1, True)], now_s=now, last_asked=asked):
            asked[request.window] = now
            for seq in range(request.from_seq, request.to_seq + 1):
                if seq in lost_once:
                    lost_once.discard(seq)
                elif seq not in present:
                    present.append(seq)
        now += 5.0
    return set(present), rounds


def test_a_gap_of_thousands_closes_over_a_few_rounds() -> None:
    arrived, rounds = _simulate(1, 5000)
    assert arrived == set(range(1, 5001))
    assert rounds == 5  # two windows (1,000 events) in flight at a time


def test_a_window_whose_resend_is_lost_is_asked_for_again_after_repeat_s() -> None:
    arrived, rounds = _simulate(1181, 2000, lose={1300, 1900, 1901})
    assert arrived == set(range(1181, 2001))
    assert rounds > 1


def test_missing_runs() -> None:
    assert missing_runs(1, 10, []) == [(1, 10)]
    assert missing_runs(1, 10, [1, 2, 5, 10]) == [(3, 4), (6, 9)]
    assert missing_runs(5, 7, [1, 5, 6, 7, 9]) == []
