"""Schema migrations (Alembic). ``central.db.Database.migrate()`` runs them; see env.py."""
