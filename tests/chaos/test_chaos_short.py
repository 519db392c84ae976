"""The chaos suite's short form (``python -m chaos --short``), in the default test run.

Real processes on both stacks: a broker (a private Mosquitto on a spare port, or the embedded
amqtt one), ``autogate central serve`` on PostgreSQL (behind a proxy the suite cuts) or SQLite,
and a gate process per scenario. Every crossing a gate committed must be stored by central
exactly once, no forgery stored, and ingest must survive the poison; the full form with over
5,000 crossings is ``make chaos``. Without this test a change that loses or doubles a crossing
under a fault would pass every unit test.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from chaos.suite import Sizes, run_stack, violated

REQUIRE_SERVICES = os.environ.get("AUTOGATE_REQUIRE_SERVICES") == "1"


def _needs(stack: str) -> None:
    if stack != "services":
        return
    problems = []
    if shutil.which("mosquitto") is None:
        problems.append("mosquitto is not installed")
    try:
        import psycopg

        from chaos.suite import POSTGRES_URL

        psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any reason PostgreSQL is unusable
        problems.append(f"PostgreSQL: {exc}")
    if problems:
        if REQUIRE_SERVICES:
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))


@pytest.mark.services
@pytest.mark.timeout(420)  # two minutes a stack on a busy shared 2-core machine
@pytest.mark.parametrize("stack", ["services", "embedded"])
def test_chaos_short_form_loses_nothing(stack: str) -> None:
    _needs(stack)
    report = run_stack(stack, Sizes.short())
    problems = violated({**report}, 0)
    assert report["crossings_generated"] > 0
    assert not problems, json.dumps(report)
