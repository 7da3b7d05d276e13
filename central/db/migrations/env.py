"""Alembic environment: migrations run on the connection :func:`central.db.migrate.upgrade`
hands over, inside its transaction, with the whole schema's metadata
(:mod:`central.db.schema`) as the target."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from central.db.schema import METADATA

target_metadata = METADATA

# Two processes starting at once (init and serve, or two API instances) must not both
# migrate: the first takes this lock, the second waits and then finds nothing to do.
MIGRATION_LOCK = (0x50524550, 0)  # "PREP", 0
#: How long the second one waits for the first's migrations (longer than the usual
#: bound of central.db.locks: a migration of a full night's tables takes a while). The
#: migrations' own DDL keeps the usual bound, so a session holding a table never
#: leaves every later query queued behind an ALTER TABLE for long.
MIGRATION_WAIT = "5min"


def run_migrations(connection: Connection) -> None:
    connection.execute(select(func.set_config("lock_timeout", MIGRATION_WAIT, True)))
    connection.execute(select(func.pg_advisory_xact_lock(*MIGRATION_LOCK)))
    connection.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
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
