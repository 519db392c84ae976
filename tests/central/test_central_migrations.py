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
        assert database.migrate() == "0003_cctv_face_watchlist"
        assert schema_differences(database) == []  # a model change needs a migration
        assert database.migrate() == "0003_cctv_face_watchlist"  # idempotent
    finally:
        database.dispose()


def test_a_database_from_before_migrations_is_adopted_and_upgraded(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        database.create_all()
        with database.engine.begin() as connection:  # the schema as the first deployment made it
            connection.execute(text("DROP TABLE face_evidence"))
            for table in ("cctv_person_flags", "cctv_dismissals", "cctv_alarm_images", "cctv_alarms",
                          "face_list_changes", "face_list_versions", "face_templates", "cctv_cameras"):
                connection.execute(text(f"DROP TABLE {table}"))
        assert "face_evidence" not in inspect(database.engine).get_table_names()
        assert database.migrate() == "0003_cctv_face_watchlist"
        assert "face_evidence" in inspect(database.engine).get_table_names()
        assert schema_differences(database) == []
    finally:
        database.dispose()
