"""Which transaction last wrote each row of an acta: ``cambio`` on ``acta_states``,
``acta_images`` and ``acta_captures``, indexed.

A running central's corte reads again only the actas changed since its previous
snapshot (central.publication.snapshot, ``_CAMBIADAS``). It found them by each row's
``xmin``, which no index can hold: every corte scanned the three tables whole (a
national central's 1.2 GB, most of a second of each corte, however little changed).
``cambio`` is the writing transaction's id (``pg_current_xact_id()``, 64 bits, as the
snapshot's own xmin is read), set by a trigger on every INSERT and UPDATE (COPY too),
so no writer can leave it behind; its index gives the changed actas in milliseconds.

Existing rows get 0: a central is migrated stopped, and its next process reads every
acta once before it follows changes. Only a write with triggers off
(``session_replication_role = replica``, as logical replication applies rows) would
leave ``cambio`` behind; nothing in this system writes so (a standby is physical, and
a promoted one starts a new process, which reads everything).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("acta_states", "acta_images", "acta_captures")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION prep_marcar_cambio() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.cambio := pg_current_xact_id()::text::bigint;
            RETURN NEW;
        END
        $$
    """)
    for table in TABLES:
        op.add_column(table, sa.Column("cambio", sa.BigInteger(), nullable=False,
                                       server_default=sa.text("0")))
        op.create_index(f"ix_{table}_cambio", table, ["cambio"])
        op.execute(f"CREATE TRIGGER {table}_cambio BEFORE INSERT OR UPDATE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION prep_marcar_cambio()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_cambio ON {table}")
        op.drop_index(f"ix_{table}_cambio", table_name=table)
        op.drop_column(table, "cambio")
    op.execute("DROP FUNCTION prep_marcar_cambio()")
