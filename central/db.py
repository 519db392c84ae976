"""The database handle: one engine per process, one session per request on ``g``.

SQLite (the embedded default) and PostgreSQL (``postgresql+psycopg://``) run the same code;
only the URL differs. ``Database`` is built by ``create_app`` or ``main()`` and passed down.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from central.models import Base

log = logging.getLogger(__name__)

EXTENSION = "autogate.db"

# A database made by ``create_all`` before migrations existed is adopted at the newest revision
# whose marker it already has (newest first), then upgraded from there. A marker is a table, or
# ``table.column`` for a revision that only adds columns, or ``table@index`` for one that only
# adds an index.
ADOPTION: tuple[tuple[str, str], ...] = (
    ("0008_reports_bus", "gate_messages@ix_gate_messages_ended_at"),
    ("0006_audit_chain_sessions", "audit_chain_head"),
    ("0005_cctv_face_watchlist", "cctv_cameras"),
    ("0004_shift_answers_resets", "alerts.answered_by_message_id"),
    ("0003_office_back_office", "position_holders"),
    ("0002_face_evidence", "face_evidence"),
    ("0001_initial", "gates"),
)


def metadata() -> MetaData:
    """Every table of central: importing the model modules registers them on ``Base.metadata``."""
    import central.cases.models  # noqa: F401
    import central.cctv.models  # noqa: F401
    import central.enrolments.models  # noqa: F401
    import central.watchlists.models  # noqa: F401

    return Base.metadata


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # The ingest thread and waitress threads share the engine; SQLite must wait, not fail.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the console read while ingest writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def create_all(self) -> None:
        """Create missing tables straight from the models (tests); deployments use ``migrate``."""
        metadata().create_all(self.engine)

    def migrate(self) -> str:
        """Bring the schema to the latest migration (central/migrations); returns the revision."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext

        config = Config()
        config.set_main_option("script_location", "central:migrations")
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            adopt = _unversioned_revision(connection)
            if adopt is not None:
                log.warning("database %r predates migrations: adopted at revision %s", self, adopt)
                command.stamp(config, adopt)
            command.upgrade(config, "head")
            revision = MigrationContext.configure(connection).get_current_revision() or ""
        log.info("database %r at schema revision %s", self, revision)
        return revision

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:  # the URL may carry a password
        return f"Database({make_url(self.url).render_as_string(hide_password=True)})"


def _unversioned_revision(connection: Connection) -> str | None:
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables:
        return None

    def present(marker: str) -> bool:
        if "@" in marker:
            table, _, index = marker.partition("@")
            return table in tables and index in {i["name"] for i in inspector.get_indexes(table)}
        table, _, column = marker.partition(".")
        if table not in tables:
            return False
        return not column or column in {c["name"] for c in inspector.get_columns(table)}

    return next((revision for revision, marker in ADOPTION if present(marker)), None)


def init_app(app: Flask, database: Database) -> None:
    app.extensions[EXTENSION] = database
    app.teardown_appcontext(close_session)


def get_database() -> Database:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = get_database().session()
    return g.db_session  # type: ignore[no-any-return]


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
