"""Cases keep the workflow version they were opened with.

Before the back office (9b86ff1) the eight checkpoint SOPs ran as version 1 (role-based steps);
they are version 2 now. A database upgraded through 0003 holds open cases on version 1: each must
go on to its end on version 1's steps, new cases open on version 2, and a case whose version is
not installed shows a clear error with the administrator's way out (``autogate sop migrate-case``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cases_support import NOW_MS, act_as, actor_for
from sqlalchemy import select

from autogate.cli import main as autogate
from central.cases import service
from central.cases.errors import CaseRefused, DefinitionMissing
from central.cases.models import Case, CaseStepRecord
from central.db import Database
from central.models import AuditEntry
from central.services.audit import Actor
from central.workflows.registry import WorkflowRegistry

MINUTE_MS = 60_000


def _v1_record(step_id: str, at_ms: int, actor: str, role: str, standard_s: int | None) -> dict:
    """A step record as the version-1 engine (92778bb) wrote it: a role, no position, no due time."""
    return {"step_id": step_id, "started_at_ms": at_ms - MINUTE_MS, "completed_at_ms": at_ms, "actor": actor,
            "role": role, "standard_s": standard_s, "answer": None, "data": {}, "documents": []}


def insert_v1_case(database: Database, workflow_id: str, current_step: str, history: list[dict],
                   context: dict | None = None) -> int:
    """An open case as an old database holds it after migration 0003: version 1, the version-1
    engine's state JSON (no ``current_due_ms``), no due time, no reference."""
    opened_ms = NOW_MS - 60 * MINUTE_MS
    since_ms = history[-1]["completed_at_ms"] if history else opened_ms
    context = dict(context or {})
    with database.session() as session:
        row = Case(workflow_id=workflow_id, version=1, status="open", current_step=current_step,
                   current_since=datetime.fromtimestamp(since_ms / 1000, UTC), current_due_at=None,
                   opened_at=datetime.fromtimestamp(opened_ms / 1000, UTC), opened_by=None,
                   gate_id=context.get("gate_id"), context=context, state={})
        session.add(row)
        session.flush()
        row.state = {"case_id": str(row.id), "workflow_id": workflow_id, "workflow_version": 1,
                     "opened_at_ms": opened_ms, "status": "open", "current_step": current_step,
                     "current_since_ms": since_ms, "context": context, "history": history,
                     "outcome": None, "closed_at_ms": None}
        session.commit()
        return row.id


def _complete(database: Database, case_id: int, actor: Actor, step_id: str, at_ms: int, **kwargs) -> Case:
    with database.session() as session:
        row = service.complete(session, case_id, actor=actor, step_id=step_id, now_ms=at_ms, **kwargs)
        session.commit()
        return row


def test_a_cekal_case_opened_on_v1_goes_on_to_its_end_after_the_upgrade(database: Database) -> None:
    # The gate hold entered v1 at step 5; the supervisor did 5 and 6 before the upgrade.
    case_id = insert_v1_case(database, "tpi-03-cekal", "verify", [
        _v1_record("report", NOW_MS - 50 * MINUTE_MS, "spv-old", "supervisor", 300),
        _v1_record("secure", NOW_MS - 45 * MINUTE_MS, "spv-old", "supervisor", 300),
    ], context={"gate_id": "gt-1", "reason": "cekal_identik", "direction": "departure"})
    supervisor = actor_for(database, "supervisor")  # positions as 0003 seeded them from the role
    now = NOW_MS
    # Version 1's steps and answers: v2 has no plain 'wna' answer at verify for a departure.
    for step_id, kwargs in [
        ("verify", {"answer": "wna", "data": {"agency_contacted": "BNN"}}),
        ("wna_decide", {"answer": "hand_over"}),
        ("coordinate", {}),
        ("hand_over", {"data": {"received_by": "AKP Sari"}}),
        ("report_lk", {"data": {"chronology": "held at gate 1, handed over"}}),
        ("memo_head", {}),
    ]:
        now += MINUTE_MS
        row = _complete(database, case_id, supervisor, step_id, now, **kwargs)
        assert row.version == 1
    with database.session() as session:
        row = session.get(Case, case_id)
        assert (row.status, row.outcome, row.version) == ("closed", "closed: reported to the Head of Office", 1)
        state = service.state_of(row)
        assert [r.step_id for r in state.history] == ["report", "secure", "verify", "wna_decide", "coordinate",
                                                     "hand_over", "report_lk", "memo_head"]
        assert state.history[0].role == "supervisor" and state.history[0].position == ""  # kept as recorded
        positions = session.scalars(select(CaseStepRecord.position).where(CaseStepRecord.case_id == case_id)).all()
        assert positions == ["supervisor_tpi"] * 6


def test_an_overstay_case_on_v1_goes_on_with_the_administration(database: Database) -> None:
    """v1's 'backoffice' steps (billing, the bank's receipt, the recap) are the administration's."""
    case_id = insert_v1_case(database, "tpi-07-overstay", "billing", [
        _v1_record("exit_stamp", NOW_MS - 10 * MINUTE_MS, "officer-old", "officer", 10)])
    counter = actor_for(database, "officer")
    with pytest.raises(CaseRefused, match="tata_usaha"):
        _complete(database, case_id, counter, "billing", NOW_MS, data={"billing_code": "820126"})
    clerk = actor_for(database, "backoffice", "tata_usaha")
    _complete(database, case_id, clerk, "billing", NOW_MS, data={"billing_code": "820126"})
    _complete(database, case_id, clerk, "bank", NOW_MS + MINUTE_MS, data={"bank_reference": "BRI-1"})
    row = _complete(database, case_id, counter, "recap", NOW_MS + 2 * MINUTE_MS)
    assert (row.status, row.outcome, row.version) == ("closed", "overstay fee paid", 1)


def test_new_cases_open_on_the_current_version(database: Database) -> None:
    with database.session() as session:
        row = service.open_case(session, "tpi-03-cekal", now_ms=NOW_MS, actor=Actor("gate:gt-1", None),
                                context={"direction": "departure", "gate_id": "gt-1"}, start_at="gate_hold")
        session.commit()
        current = service.registry().get("tpi-03-cekal").version
        assert current >= 2
        assert row.version == current and service.state_of(row).workflow_version == current


def test_the_case_page_of_a_v1_case_shows_its_version_and_takes_its_steps(database: Database, app, client) -> None:
    case_id = insert_v1_case(database, "tpi-06-postponement", "report", [
        _v1_record("hand_over", NOW_MS - 5 * MINUTE_MS, "spv-old", "supervisor", None)])
    token = act_as(client, database, "supervisor")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    text = page.data.decode()
    assert 'id="workflow-version">v1' in text and "current: v2" in " ".join(text.split())
    posted = client.post(f"/cases/{case_id}/steps/report", data={"csrf_token": token, "chronology": "postponed"})
    assert posted.status_code == 302, posted.data.decode().split("id=\"refused\"")[-1][:300]
    with database.session() as session:
        row = session.get(Case, case_id)
        # v1 ends at the report; v2 would forward it to the Head of Office first.
        assert (row.status, row.outcome, row.version) == ("closed", "departure postponed", 1)


@pytest.fixture
def without_retired(monkeypatch):
    """An installation that kept no earlier version (definitions/retired/ emptied)."""
    full = service.registry()
    monkeypatch.setattr(service, "registry", lambda: WorkflowRegistry(full.definitions, {}))


def test_a_case_whose_version_is_missing_says_so_and_an_administrator_moves_it(
        database: Database, app, client, without_retired) -> None:
    case_id = insert_v1_case(database, "tpi-06-postponement", "report", [])
    act_as(client, database, "supervisor")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 409
    text = page.data.decode()
    assert "tpi-06-postponement version 1, which is not installed" in text
    assert f"autogate sop migrate-case {case_id} --to-version 2" in text
    assert client.get("/work").status_code == 200  # the home page of work still answers
    assert client.get("/cases").status_code == 200
    with database.session() as session:
        with pytest.raises(DefinitionMissing):
            service.complete(session, case_id, actor=actor_for(database, "supervisor"), step_id="report", now_ms=NOW_MS)
    with database.session() as session:
        service.migrate_case(session, case_id, to_version=2, actor=Actor("admin1", "admin"), now_ms=NOW_MS)
        session.commit()
    assert client.get(f"/cases/{case_id}").status_code == 200
    with database.session() as session:
        row = session.get(Case, case_id)
        assert (row.version, row.current_step, service.state_of(row).workflow_version) == (2, "report", 2)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "case_migrated")).one()
        assert entry.username == "admin1" and entry.target == f"case:{case_id}"
        assert entry.details == {"workflow": "tpi-06-postponement", "from_version": 1, "to_version": 2,
                                 "from_step": "report", "to_step": "report"}


def test_migrate_case_needs_a_step_that_exists_in_the_target_version(database: Database) -> None:
    case_id = insert_v1_case(database, "gate-referral", "refer_officer", [])
    target = service.registry().get("gate-referral")
    with database.session() as session:
        with pytest.raises(CaseRefused, match="has no step 'refer_officer'"):
            service.migrate_case(session, case_id, to_version=target.version, actor=Actor("a", None), now_ms=NOW_MS)
        with pytest.raises(CaseRefused, match="already runs"):
            service.migrate_case(session, case_id, to_version=1, actor=Actor("a", None), now_ms=NOW_MS)
        with pytest.raises(CaseRefused, match="v7 is not installed"):
            service.migrate_case(session, case_id, to_version=7, actor=Actor("a", None), now_ms=NOW_MS)
        row = service.migrate_case(session, case_id, to_version=target.version, at_step=target.start,
                                   actor=Actor("a", None), now_ms=NOW_MS)
        assert (row.version, row.current_step) == (target.version, target.start)
        assert row.current_due_at is not None or target.step(target.start).time.is_conditional


@pytest.fixture
def cli_database(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'central.db'}"
    monkeypatch.setenv("AUTOGATE_CENTRAL_DEMO_MODE", "1")
    monkeypatch.setenv("AUTOGATE_CENTRAL_DATABASE_URL", url)
    assert autogate(["central", "init-db"]) == 0
    database = Database(url)
    yield database
    database.dispose()


def test_migrate_case_from_the_command_line_is_audited(cli_database: Database, capsys) -> None:
    case_id = insert_v1_case(cli_database, "gate-referral", "refer_officer", [])
    capsys.readouterr()
    assert autogate(["sop", "migrate-case", str(case_id), "--to-version", "2", "--by", "admin1"]) == 1
    err = capsys.readouterr().err
    assert "has no step 'refer_officer'" in err and "--at-step" in err
    start = service.registry().get("gate-referral").start
    assert autogate(["sop", "migrate-case", str(case_id), "--to-version", "2", "--at-step", start, "--by", "admin1"]) == 0
    assert capsys.readouterr().out.strip() == f"case {case_id}: gate-referral v2, at step {start}"
    assert autogate(["sop", "migrate-case", "99999", "--to-version", "2"]) == 1
    assert "no case 99999" in capsys.readouterr().err
    with cli_database.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "case_migrated")).one()
        assert entry.username == "admin1"
        assert (entry.details["from_step"], entry.details["to_step"]) == ("refer_officer", start)


def test_sop_list_prints_the_current_versions_and_on_request_the_retired_ones(capsys) -> None:
    import json

    assert autogate(["sop", "list", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 38 and {line["version"] for line in lines} == {2}
    assert autogate(["sop", "list", "--json", "--all-versions"]) == 0
    every = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    retired = sorted(line["workflows"][0] for line in every if line.get("retired"))
    assert retired == ["gate-referral", "it-05-cctv-alarm", "tpi-03-cekal", "tpi-04-interpol", "tpi-05-refusal",
                       "tpi-06-postponement", "tpi-07-overstay", "tpi-09-carrier-charge"]
    assert all(line["version"] == 1 for line in every if line.get("retired"))
    assert autogate(["sop", "show", "tpi-07-overstay", "--version", "1"]) == 0
    assert "billing" in capsys.readouterr().out
    assert autogate(["sop", "show", "doc-01-passport-issuance-mpaspor", "--version", "1"]) == 2
    assert "not installed" in capsys.readouterr().err


def test_a_v1_case_stored_before_0003_goes_on_after_the_database_is_migrated(database_url: str) -> None:
    """The production path: a database at 0002 holding an open v1 case (rows as the version-1 code
    wrote them), migrated to head, then worked; on SQLite and PostgreSQL."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    database = Database(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", "central:migrations")
        opened = datetime.fromtimestamp((NOW_MS - 60 * MINUTE_MS) / 1000, UTC)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002_face_evidence")
            connection.execute(sa.text(
                "INSERT INTO users (username, password_hash, role, active, failed_logins, created_at) "
                "VALUES ('spv-old', 'x', 'supervisor', true, 0, '2026-11-30 00:00:00')"))
            cases = sa.table("cases", *(sa.column(c) for c in (
                "workflow_id", "version", "status", "current_step", "opened_by", "gate_id")),
                sa.column("current_since", sa.DateTime(timezone=True)), sa.column("opened_at", sa.DateTime(timezone=True)),
                sa.column("context", sa.JSON()), sa.column("state", sa.JSON()))
            state = {"case_id": "1", "workflow_id": "tpi-05-refusal", "workflow_version": 1,
                     "opened_at_ms": NOW_MS - 60 * MINUTE_MS, "status": "open", "current_step": "decide",
                     "current_since_ms": NOW_MS - 50 * MINUTE_MS, "context": {}, "outcome": None, "closed_at_ms": None,
                     "history": [_v1_record("refer", NOW_MS - 55 * MINUTE_MS, "officer-old", "officer", 300),
                                 _v1_record("interview", NOW_MS - 50 * MINUTE_MS, "spv-old", "supervisor", None)]}
            connection.execute(cases.insert().values(
                workflow_id="tpi-05-refusal", version=1, status="open", current_step="decide", opened_by=None,
                gate_id=None, current_since=opened, opened_at=opened, context={}, state=state))
        database.migrate()
        with database.session() as session:
            case_id = session.scalar(select(Case.id))
        supervisor = Actor("spv-old", "supervisor")  # positions from 0003's seeding of the role
        v1 = service.registry().get("tpi-05-refusal", 1)
        decide = v1.step("decide")
        assert set(decide.positions) == {"supervisor_tpi", "pengawas_autogate"}
        answers = {"decide": "refuse", "return_now": "yes"}  # v2's decision is the Kasi Pemeriksaan's
        now = NOW_MS
        with database.session() as session:
            row = session.get(Case, case_id)
            while row.status == "open":
                now += MINUTE_MS
                step = v1.step(row.current_step)
                data = {name: "recorded" for name in step.required_fields}
                row = service.complete(session, case_id, actor=supervisor, step_id=step.id, now_ms=now,
                                       answer=answers.get(step.id), data=data)
                session.commit()
            assert (row.version, row.status) == (1, "closed")
            assert [r.step_id for r in service.state_of(row).history] == [
                "refer", "interview", "decide", "record_refusal", "return_now", "incident_report"]
            assert row.outcome == "refused entry"
    finally:
        database.dispose()
