"""The service-standard report on a generated history of cases: per SOP and per step, the share
within the standard, median and p95, the outside parties' waits apart, the backlog; page and CSV."""

from __future__ import annotations

import csv
import io
import random
import statistics

from cases_support import NOW_MS, act_as, make_user

from central.cases import service
from central.cases.sla_report import Figures, percentile
from central.services.audit import Actor

MIN = 60_000


def _history(database) -> dict[str, list[tuple[float, bool]]]:
    """120 refusal-of-entry cases (tpi-05) with random step durations: what the report must find."""
    rng = random.Random(21)
    everyone = make_user(database, "supervisor", ("petugas_tpi", "supervisor_tpi"))
    kasi = make_user(database, "supervisor", ("kasi_pemeriksaan",))
    expected: dict[str, list[tuple[float, bool]]] = {"refer": [], "interview": [], "decide": []}
    start = NOW_MS - 10 * 86_400_000
    with database.session() as session:
        for n in range(120):
            t = start + n * 3_600_000
            row = service.open_case(session, "tpi-05-refusal", now_ms=t, actor=Actor(everyone.username, "supervisor"))
            for step, who, limit_min, answer, data in [
                ("refer", everyone, 5, None, {}), ("interview", everyone, 15, None, {"evidence": "x"}),
                ("decide", kasi, 15, "allow", {}),
            ]:
                took = rng.uniform(0.2, 2.0) * limit_min * MIN
                t += int(took)
                service.complete(session, row.id, actor=Actor(who.username, "supervisor"), step_id=step, now_ms=t,
                                 answer=answer, data=data)
                expected[step].append((took / 1000, took <= limit_min * MIN))
        # A backlog: three open cases, one of them overdue at the report's time.
        for offset in (0, 1, 2):
            service.open_case(session, "tpi-05-refusal", now_ms=NOW_MS - offset * 4 * MIN,
                              actor=Actor(everyone.username, "supervisor"))
        session.commit()
    return expected


def test_the_report_matches_the_history_it_was_generated_from(client, database) -> None:
    expected = _history(database)
    act_as(client, database, "report_only")
    query = "from=2026-01-01&to=2030-12-31&workflow=tpi-05-refusal"
    rows = list(csv.DictReader(io.StringIO(client.get(f"/sla/export.csv?level=step&{query}").data.decode())))
    by_step = {r["step"]: r for r in rows}
    for step, facts in expected.items():
        within = sum(ok for _, ok in facts)
        row = by_step[step]
        assert int(row["done"]) == len(facts) and int(row["within_standard"]) == within
        assert float(row["share_within_pct"]) == round(100 * within / len(facts), 1)
        durations = [d for d, _ in facts]
        assert abs(float(row["median_s"]) - statistics.median_low(sorted(durations))) <= 1
        assert abs(float(row["p95_s"]) - percentile(durations, 0.95)) <= 1
    [sop] = list(csv.DictReader(io.StringIO(client.get(f"/sla/export.csv?{query}").data.decode())))
    all_facts = [f for facts in expected.values() for f in facts]
    assert int(sop["office_steps"]) == len(all_facts) and int(sop["closed_cases"]) == 120
    assert (int(sop["open_cases"]), int(sop["overdue_cases"])) == (3, 1)  # 0, 4 and 8 minutes into a 5-minute step
    page = client.get(f"/sla?{query}").data.decode()
    assert 'id="chart-within"' in page and "<rect" in page and 'data-workflow="tpi-05-refusal"' in page


def test_outside_parties_waits_are_reported_apart() -> None:
    from central.cases.sla_report import StepFact, report

    sops, steps = report([StepFact("w", "office", 60, True, None), StepFact("w", "kanwil", 86_400, False, "kanwil")], [])
    [row] = sops
    assert (row.office.count, row.office.share_within, row.waits.count, row.waits.median_s) == (1, 1.0, 1, 86_400)
    assert [s.waited_on for s in steps] == ["kanwil", None]


def test_percentiles_and_empty_figures() -> None:
    assert percentile([], 0.5) is None and percentile([3.0], 0.95) == 3.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
    assert Figures().share_within is None
