"""Schema migrations: an empty database migrates to exactly the models' schema, on SQLite and
PostgreSQL, and a database made before migrations existed is adopted and upgraded."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from central.db import Database, metadata


def schema_differences(database: Database) -> list:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata())


HEAD = "0008_reports_bus"


def test_an_empty_database_migrates_to_the_models_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert database.migrate() == HEAD
        assert schema_differences(database) == []  # a model change needs a migration
        assert database.migrate() == HEAD  # idempotent
    finally:
        database.dispose()


def _first_deployment(database: Database) -> None:
    """The schema as the first deployment made it (create_all at revision 0001, no version table)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "central:migrations")
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_initial")
        connection.execute(text("DROP TABLE alembic_version"))


def test_a_database_from_before_migrations_is_adopted_and_upgraded(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _first_deployment(database)
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (username, password_hash, role, active, failed_logins, created_at) "
                "VALUES ('sup', 'x', 'supervisor', 1, 0, '2026-01-01 00:00:00')"))
        assert "face_evidence" not in inspect(database.engine).get_table_names()
        assert database.migrate() == HEAD
        assert "face_evidence" in inspect(database.engine).get_table_names()
        assert schema_differences(database) == []
        with database.engine.connect() as connection:
            held = connection.execute(text("SELECT position FROM position_holders ORDER BY position")).scalars().all()
        assert held == ["pengawas_autogate", "supervisor_tpi"]  # the supervisor keeps working cekal cases
    finally:
        database.dispose()


def test_a_database_made_by_create_all_is_adopted_at_the_newest_revision(tmp_path) -> None:
    """The newest revision only adds columns: its marker is a column, not a table."""
    database = Database(f"sqlite:///{tmp_path / 'made.db'}")
    try:
        database.create_all()
        assert database.migrate() == HEAD
        assert schema_differences(database) == []
    finally:
        database.dispose()
