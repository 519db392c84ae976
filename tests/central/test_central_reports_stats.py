"""Crossing reports: search page, daily recap (WIB days), per-gate statistics, pages and JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from central_support import (
    NOW_MS,
    TRAVELER,
    FakeGate,
    act_as,
    crossing,
    gate_event,
    ingest,
    register,
)

import central.ingest.worker  # noqa: F401 - registers every table (cases too) before create_all
from central.services.stats import (
    SOP_STANDARDS_MS,
    daily_recap,
    gate_statistics,
    hourly_throughput,
    outcome_rates,
    percentile,
    stats,
    timing_summary,
)
from protocol import CrossingRecord, TravelerDocument

HOUR_MS = 3600 * 1000
# NOW_MS is 2026-09-21 21:13 WIB (14:13 UTC); three hours later is already the next WIB day
# while UTC is still on the 21st.
WIB_DAY = date(2026, 9, 21)

OTHER = TravelerDocument(
    document_number="B7654321",
    document_type="P",
    issuing_state="MYS",
    expiry_date=date(2031, 2, 2),
    given_names="AHMAD",
    surname="RAZAK",
    sex="M",
    birth_date=date(1985, 1, 1),
    nationality="MYS",
)


def ended(outcome: str, tx: str, **timings: int):
    details = {"outcome": outcome, **{f"t_{k}": v for k, v in timings.items()}}
    return gate_event("transaction_ended", transaction_id=tx, reason=outcome, details=details)


def arrival(tx: str, traveler: TravelerDocument, completed_at_ms: int, **timings: int) -> CrossingRecord:
    return CrossingRecord(
        transaction_id=tx,
        direction="arrival",
        traveler=traveler,
        started_at_ms=completed_at_ms - 8000,
        completed_at_ms=completed_at_ms,
        timings_ms=timings,
    )


@pytest.fixture
def hall(database):
    return _fill(database)


@pytest.fixture
def any_hall(any_database):
    """The hall on SQLite and PostgreSQL: the outcome query is spelled per engine (partial index)."""
    return _fill(any_database)


def _fill(database):
    d1, a1 = FakeGate("gt-d1"), FakeGate("gt-a1")
    register(database, d1)
    register(database, a1, direction="arrival")
    ingest(
        database,
        d1.event(crossing("tx-1")),  # document_scan 800, total 9000
        d1.event(ended("crossed", "tx-1")),
        d1.event(ended("document_invalid", "tx-2")),
        d1.event(ended("document_invalid", "tx-3")),
        d1.event(ended("referred_to_counter", "tx-4")),
        d1.event(
            gate_event(
                "alarm_raised",
                transaction_id="tx-5",
                reason="cekal_identik",
                traveler=OTHER,
            )
        ),
        a1.event(
            arrival(
                "tx-a",
                OTHER,
                NOW_MS - HOUR_MS,
                document_scan=6000,
                exit_door_open=900,
                total=12000,
            )
        ),
        a1.event(
            arrival(
                "tx-b",
                TRAVELER,
                NOW_MS,
                document_scan=4000,
                exit_door_open=1100,
                total=10000,
            )
        ),
        a1.event(arrival("tx-c", TRAVELER, NOW_MS + 3 * HOUR_MS, document_scan=1000, total=7000)),  # 22 Sep WIB
    )
    return database


# ---- pure helpers ------------------------------------------------------------------------------
def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile(list(range(1, 101)), 0.95) == pytest.approx(95.05)


def test_timing_summary_flags_only_steps_with_an_sop_standard() -> None:
    summary = timing_summary(
        [
            {"document_scan": 4000, "face": 9000},
            {"document_scan": 6000, "face": 1},
            {"bogus": "x"},
        ]
    )
    assert summary["document_scan"] == {
        "count": 2,
        "median_ms": 5000,
        "p95_ms": pytest.approx(5900),
        "standard_ms": 5000,
        "over_standard": 1,
        "over_standard_rate": 0.5,
    }
    assert summary["face"]["standard_ms"] is None and summary["face"]["over_standard"] is None  # kondisional
    assert "bogus" not in summary
    assert SOP_STANDARDS_MS["exit_door_open"] == 1000


def test_outcome_rates_count_every_outcome_but_crossed_as_a_rejection() -> None:
    rates = outcome_rates(["crossed", "crossed", "document_invalid", "tailgating"])
    assert rates["transactions"] == 4 and rates["crossed"] == 2 and rates["rejected"] == 2
    assert rates["rejection_rate"] == 0.5
    assert rates["rejections_by_reason"] == {
        "document_invalid": {"count": 1, "rate": 0.25},
        "tailgating": {"count": 1, "rate": 0.25},
    }
    assert outcome_rates([])["rejection_rate"] is None


def test_throughput_buckets_by_wib_hour() -> None:
    at = [
        datetime(2026, 9, 21, 20, 5, tzinfo=UTC),
        datetime(2026, 9, 21, 20, 55, tzinfo=UTC),
        datetime(2026, 9, 21, 22, 0),
    ]
    result = hourly_throughput(at)
    assert result["per_hour"] == [
        {"hour": "2026-09-22T03:00", "crossings": 2},
        {"hour": "2026-09-22T05:00", "crossings": 1},
    ]
    assert result["peak_per_hour"] == 2 and result["mean_per_active_hour"] == 1.5


# ---- queries -------------------------------------------------------------------------------------
def test_daily_recap_counts_one_wib_day(any_hall) -> None:
    with any_hall.session() as session:
        recap = daily_recap(session, WIB_DAY)
        following = daily_recap(session, date(2026, 9, 22))
    assert recap["crossings"] == 3
    assert recap["crossings_by_direction"] == {"arrival": 2, "departure": 1}
    assert recap["crossings_by_gate"] == {
        "gt-a1": {"arrival": 2},
        "gt-d1": {"departure": 1},
    }
    assert recap["refusals_by_reason"] == {
        "document_invalid": 2,
        "referred_to_counter": 1,
    }
    assert recap["refusals"] == 3 and recap["watchlist_holds"] == 1
    assert following["crossings"] == 1 and following["refusals"] == 0


def test_the_outcome_query_can_use_the_partial_index(any_hall) -> None:
    """Without the index's own predicate in the query, the planner cannot use it and the week's
    statistics read every gate event (seconds; bench/central/reports.py)."""
    from sqlalchemy import event
    from sqlalchemy import text as sql_text

    from central.services.stats import day_bounds, ended_query

    start, end = day_bounds(WIB_DAY)
    engine = any_hall.engine
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "

    def explained(_conn, _cursor, statement, parameters, _context, _many):
        return explain + statement, parameters  # the same statement, its parameters bound as in use

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sql_text("SET enable_seqscan = off"))  # tiny tables: make the planner's choice visible
        event.listen(conn, "before_cursor_execute", explained, retval=True)
        plan = [" ".join(map(str, row)) for row in conn.execute(ended_query(engine.dialect.name, start, end))]
    assert any("ix_gate_messages_ended_at" in line for line in plan), plan


def test_gate_statistics_per_gate(any_hall) -> None:
    with any_hall.session() as session:
        report = gate_statistics(session, WIB_DAY, WIB_DAY)
    d1, a1 = report["gates"]["gt-d1"], report["gates"]["gt-a1"]
    assert d1["outcomes"]["transactions"] == 4 and d1["outcomes"]["rejection_rate"] == 0.75
    assert d1["outcomes"]["rejections_by_reason"]["document_invalid"] == {
        "count": 2,
        "rate": 0.5,
    }
    assert a1["crossings"] == 2 and a1["throughput"]["peak_per_hour"] == 1
    assert a1["timings"]["document_scan"]["median_ms"] == 5000
    assert a1["timings"]["document_scan"]["over_standard"] == 1
    assert a1["timings"]["exit_door_open"]["over_standard_rate"] == 0.5
    assert a1["timings"]["total"]["standard_ms"] is None


def test_the_demo_stats_keys_are_unchanged(hall) -> None:
    with hall.session() as session:
        keys = set(stats(session))
    assert keys == {
        "gates",
        "gates_online",
        "crossings",
        "alerts",
        "alerts_unacknowledged",
        "sequence_gaps_open",
        "crossings_per_gate",
    }


# ---- pages and JSON ------------------------------------------------------------------------------
def test_search_page_finds_by_document_name_gate_and_date(app, hall) -> None:
    client = app.test_client()
    act_as(client, hall, "officer")
    by_doc = client.get("/reports/crossings?document_number=b7654321")
    assert by_doc.status_code == 200 and b"RAZAK" in by_doc.data and b"SITI" not in by_doc.data
    by_name = client.get("/reports/crossings?name=rahay&gate=gt-a1")
    assert b"2 crossings found" in by_name.data
    by_date = client.get("/reports/crossings?date_from=2026-09-21&date_to=2026-09-21&gate=gt-d1")
    assert b"1 crossings found" in by_date.data
    assert client.get("/reports/crossings?date_from=notadate").status_code == 400
    blank = client.get("/reports/crossings")
    assert blank.status_code == 200 and b"crossings found" not in blank.data


def test_daily_and_gate_pages_and_json(app, hall) -> None:
    client = app.test_client()
    act_as(client, hall, "report_only")
    page = client.get("/reports/daily?day=2026-09-21")
    assert page.status_code == 200 and b'id="recap-crossings">3<' in page.data
    assert client.get("/reports/daily").status_code == 200  # today (WIB) by default
    data = client.get("/api/v1/reports/daily?day=2026-09-21").get_json()
    assert data["crossings"] == 3 and data["refusals_by_reason"]["document_invalid"] == 2
    assert client.get("/api/v1/reports/daily?day=x").status_code == 400
    gates_page = client.get("/reports/gates?date_from=2026-09-21&date_to=2026-09-21")
    assert gates_page.status_code == 200 and b"stats-gt-d1" in gates_page.data and b"75.0 %" in gates_page.data
    stats_json = client.get("/api/v1/stats/gates?date_from=2026-09-21&date_to=2026-09-21").get_json()
    assert stats_json["gates"]["gt-d1"]["outcomes"]["rejected"] == 3
    assert client.get("/api/v1/stats/gates?date_from=2026-09-21&date_to=2026-09-01").status_code == 400
    assert client.get("/api/v1/stats/gates?date_from=2026-01-01&date_to=2026-09-01").status_code == 400


def test_report_only_may_not_search_personal_data(app, hall) -> None:
    client = app.test_client()
    act_as(client, hall, "report_only")
    assert client.get("/reports/crossings?name=SITI").status_code == 403
