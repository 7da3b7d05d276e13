"""Alembic environment: migrations run on the connection :func:`central.db.migrate.upgrade`
hands over, inside its transaction, with the models' metadata as the target."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, func, select

from central.db.models import Base

target_metadata = Base.metadata

# Two processes starting at once (init and serve, or two API instances) must not both
# migrate: the first takes this lock, the second waits and then finds nothing to do.
MIGRATION_LOCK = (0x50524550, 0)  # "PREP", 0


def run_migrations(connection: Connection) -> None:
    connection.execute(select(func.pg_advisory_xact_lock(*MIGRATION_LOCK)))
    context.configure(connection=connection, target_metadata=target_metadata,
                      transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; "
                       "run «prep central init»")
_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through central.db.migrate.upgrade")
run_migrations(_connection)
