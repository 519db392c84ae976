"""The production timer thread: runs due callbacks in order, honours cancel, stops on close."""

from __future__ import annotations

import threading

import pytest

from edge.gate.clock import MonotonicScheduler


def test_callbacks_run_in_deadline_order_and_cancel_works() -> None:
    scheduler = MonotonicScheduler()
    done = threading.Event()
    order: list[str] = []
    # Wide gaps: deadlines are relative to each call, and a loaded machine may stall between calls.
    scheduler.call_later(0.5, lambda: order.append("second"))
    cancelled = scheduler.call_later(0.3, lambda: order.append("cancelled"))
    scheduler.call_later(0.0, lambda: order.append("first"))
    scheduler.call_later(0.7, done.set)
    cancelled.cancel()
    assert done.wait(timeout=5.0)
    assert order == ["first", "second"]
    scheduler.close()


def test_a_failing_callback_does_not_stop_the_thread() -> None:
    scheduler = MonotonicScheduler()
    done = threading.Event()

    def boom() -> None:
        raise ZeroDivisionError("bug")

    scheduler.call_later(0.0, boom)
    scheduler.call_later(0.0, done.set)
    assert done.wait(timeout=5.0)
    scheduler.close()


def test_close_drops_pending_timers_and_refuses_new_ones() -> None:
    scheduler = MonotonicScheduler()
    fired = threading.Event()
    scheduler.call_later(3600, fired.set)
    assert scheduler.pending == 1
    scheduler.close()
    scheduler.close()  # idempotent
    assert scheduler.pending == 0 and not fired.is_set()
    with pytest.raises(RuntimeError):
        scheduler.call_later(0, fired.set)
