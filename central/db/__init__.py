"""The central's PostgreSQL: models, engine, and migrations (schema only through Alembic)."""

from central.db.engine import database_dsn
from central.db.engine import make_engine
from central.db.migrate import current_revision
from central.db.migrate import head_revision
from central.db.migrate import upgrade

__all__ = ["current_revision", "database_dsn", "head_revision", "make_engine", "upgrade"]
