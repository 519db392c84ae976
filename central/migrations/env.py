"""Alembic environment: the schema is every table of central's models (``metadata()``).

Run through ``central.db.Database.migrate()`` (``autogate central init-db``, ``serve``), which
hands over its own connection; there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context

from central.db import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata(),
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
