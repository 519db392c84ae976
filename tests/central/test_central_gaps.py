"""Central asks gates to resend what it is missing (holes and a missing tail)."""

from __future__ import annotations

from central.ingest.gaps import MAX_RANGE, resend_requests


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
    asked = {("g1", 5): 90.0}
    assert ask(gaps=[("g1", 5, 7, 0.0)], gates=[("g1", 20, 20, True)], last_asked=asked) == []
    assert len(ask(gaps=[("g1", 5, 7, 0.0)], gates=[("g1", 20, 20, True)], last_asked=asked, now_s=151.0)) == 1


def test_large_ranges_are_asked_for_in_bounded_pieces() -> None:
    [request] = ask(gaps=[("g1", 1, 10_000, 0.0)], gates=[("g1", 10_001, 10_001, True)])
    assert request.to_seq - request.from_seq + 1 == MAX_RANGE
