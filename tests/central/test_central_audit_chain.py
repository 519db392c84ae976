"""Issue 18 item 12 (audit half): the audit log is a hash chain, on SQLite and PostgreSQL.
``autogate audit verify`` passes on an untouched log and names the first entry that was altered,
removed or moved; concurrent writers never fork the chain; the migration chains old rows."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from central.audit_cli import main as audit_main
from central.db import Database
from central.models import AuditEntry
from central.services import audit
from central.services.audit_chain import verify


def write_entries(database: Database, count: int, who: str = "sari") -> list[int]:
    ids = []
    for n in range(count):
        with database.session() as session:
            entry = audit.record(session, audit.Actor(who, "supervisor", "10.0.0.9"), "command",
                                 f"gate:g-{n}", {"action": "open_entry", "reason": f"paspor macet {n}", "n": n, "ünï": [1, 2.5]})
            session.commit()
            ids.append(entry.id)
    return ids


@pytest.fixture
def chained(any_database: Database) -> tuple[Database, list[int]]:
    return any_database, write_entries(any_database, 5)


def run_verify(database: Database, capsys) -> tuple[int, str]:
    code = audit_main(["verify", "--database-url", database.url])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_an_untouched_log_verifies(chained, capsys) -> None:
    database, _ = chained
    code, said = run_verify(database, capsys)
    assert code == 0 and "5 entries" in said


def test_an_altered_entry_is_named(chained, capsys) -> None:
    database, ids = chained
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET target = 'gate:innocent' WHERE id = :id"), {"id": ids[2]})
    code, said = run_verify(database, capsys)
    assert code == 1 and f"entry id {ids[2]} " in said and "altered" in said


def test_altered_details_are_caught(chained, capsys) -> None:
    database, ids = chained
    with database.session() as session:
        entry = session.get(AuditEntry, ids[1])
        entry.details = {**entry.details, "reason": "nothing happened"}
        session.commit()
    verdict = _verdict(database)
    assert not verdict.ok and verdict.entry_id == ids[1]


def test_a_removed_entry_is_named(chained, capsys) -> None:
    database, ids = chained
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    code, said = run_verify(database, capsys)
    assert code == 1 and f"entry id {ids[2]} " in said and "removed" in said


def test_removing_the_latest_entries_is_caught(chained, capsys) -> None:
    database, ids = chained
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id >= :id"), {"id": ids[3]})
    code, said = run_verify(database, capsys)
    assert code == 1 and "latest entries were removed" in said


def test_reordered_entries_are_named(chained, capsys) -> None:
    database, ids = chained
    with database.engine.begin() as connection:  # swap the places of the 2nd and 3rd entries
        connection.execute(text("UPDATE audit_log SET seq = -1 WHERE id = :id"), {"id": ids[1]})
        connection.execute(text("UPDATE audit_log SET seq = 2 WHERE id = :id"), {"id": ids[2]})
        connection.execute(text("UPDATE audit_log SET seq = 3 WHERE id = :id"), {"id": ids[1]})
    code, said = run_verify(database, capsys)
    assert code == 1 and f"entry id {ids[2]} " in said


def test_a_rewritten_chain_tail_is_caught(chained) -> None:
    """Recomputing one entry's hash after altering it still breaks the link to the next entry."""
    from central.services.audit_chain import entry_hash

    database, ids = chained
    with database.session() as session:
        entry = session.get(AuditEntry, ids[2])
        entry.username = "someone-else"
        entry.entry_hash = entry_hash(entry)
        session.commit()
    verdict = _verdict(database)
    assert not verdict.ok and verdict.entry_id == ids[3]


def _verdict(database: Database):
    with database.session() as session:
        return verify(session)


def test_concurrent_officers_do_not_fork_the_chain(any_database: Database) -> None:
    errors: list[BaseException] = []

    def officer(name: str) -> None:
        try:
            write_entries(any_database, 8, who=name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=officer, args=(f"officer-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with any_database.session() as session:
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        assert seqs == list(range(1, 33))
        assert verify(session).ok


def test_the_migration_chains_existing_entries(database_url: str, capsys) -> None:
    from alembic import command
    from alembic.config import Config

    database = Database(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", "central:migrations")
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005_cctv_face_watchlist")
            for n in range(3):
                connection.execute(text(
                    "INSERT INTO audit_log (at, username, role, action, target, details, ip) "
                    "VALUES (:at, 'cli', NULL, 'gate_add', :target, :details, NULL)"),
                    {"at": f"2026-0{n + 1}-01 08:00:00.123456", "target": f"gate:g{n}", "details": '{"direction": "arrival"}'})
        database.migrate()
        code, said = run_verify(database, capsys)
        assert code == 0 and "3 entries" in said
        write_entries(database, 2)  # new entries continue the migrated chain
        assert run_verify(database, capsys)[0] == 0
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE audit_log SET action = 'gate_remove' WHERE target = 'gate:g1'"))
        code, said = run_verify(database, capsys)
        assert code == 1 and "seq 2" in said
    finally:
        database.dispose()


def test_verify_is_listed_in_the_help(capsys) -> None:
    from autogate.cli import main

    assert main(["--help"]) == 0
    assert "audit" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        audit_main(["--help"])
    assert "verify" in capsys.readouterr().out
