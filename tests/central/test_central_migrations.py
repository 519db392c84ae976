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


HEAD = "0003_shift_answers_resets"


def test_an_empty_database_migrates_to_the_models_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert database.migrate() == HEAD
        assert schema_differences(database) == []  # a model change needs a migration
        assert database.migrate() == HEAD  # idempotent
    finally:
        database.dispose()


def test_a_database_from_before_migrations_is_adopted_and_upgraded(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        database.create_all()
        with database.engine.begin() as connection:  # the schema as the first deployment made it
            connection.execute(text("DROP TABLE face_evidence"))
            connection.execute(text("DROP INDEX ix_alerts_answered_by_message_id"))  # added by 0003
            connection.execute(text("ALTER TABLE alerts DROP COLUMN answered_by_message_id"))
            connection.execute(text("ALTER TABLE users DROP COLUMN must_change_password"))
        assert "face_evidence" not in inspect(database.engine).get_table_names()
        assert database.migrate() == HEAD
        assert "face_evidence" in inspect(database.engine).get_table_names()
        assert schema_differences(database) == []
    finally:
        database.dispose()
