"""Acta states from the records alone: an unreadable image is a station record
(``ilegible``) and a capture names its image and lease, so the pipeline journal keeps
only the order in which batches were applied, and a counted capture may have been made
without a lease.

A database holding *ilegible* requests made through the retired
``POST /v1/work/{lease}/ilegible`` cannot be upgraded: those requests were not signed
records and cannot be replayed.

Revision ID: 0004
Revises: 0003
Create Date: 2027-02-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    bind = op.get_bind()
    requests = bind.execute(sa.text(
        "SELECT count(*) FROM pipeline_journal WHERE kind <> 'lote'")).scalar_one()
    if requests:
        raise RuntimeError(
            f"La base tiene {requests} solicitudes «ilegible» que no son registros "
            "firmados; no se puede actualizar. Respalde la base y vuelva a ingerir los "
            "registros en una base nueva.")
    # Dropping ``kind`` drops its check constraint with it.
    for column in ("kind", "clave_acta", "lease_id", "operator"):
        op.drop_column("pipeline_journal", column)
    op.alter_column("pipeline_journal", "batch_number", nullable=False)
    op.alter_column("acta_captures", "lease_id", nullable=True)


def downgrade() -> None:
    op.alter_column("acta_captures", "lease_id", nullable=False)
    op.add_column("pipeline_journal", sa.Column("kind", sa.String(16), nullable=False,
                                                server_default="lote"))
    op.add_column("pipeline_journal", sa.Column("clave_acta", sa.String(13)))
    op.add_column("pipeline_journal", sa.Column("lease_id", sa.Uuid(as_uuid=False)))
    op.add_column("pipeline_journal", sa.Column("operator", sa.String(64)))
    op.alter_column("pipeline_journal", "batch_number", nullable=True)
    op.create_check_constraint("kind", "pipeline_journal",
                               "kind IN ('lote', 'ilegible')")
