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


def test_an_empty_database_migrates_to_the_models_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert database.migrate() == "0002_face_evidence"
        assert schema_differences(database) == []  # a model change needs a migration
        assert database.migrate() == "0002_face_evidence"  # idempotent
    finally:
        database.dispose()


def test_a_database_from_before_migrations_is_adopted_and_upgraded(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        database.create_all()
        with database.engine.begin() as connection:  # the schema as the first deployment made it
            connection.execute(text("DROP TABLE face_evidence"))
        assert "face_evidence" not in inspect(database.engine).get_table_names()
        assert database.migrate() == "0002_face_evidence"
        assert "face_evidence" in inspect(database.engine).get_table_names()
        assert schema_differences(database) == []
    finally:
        database.dispose()
