"""The corte that published each correction of an acta (issue 29):
``correcciones_publicadas``.

One row per correction round whose validated data a corte published for the first
time: the acta, the cotejo that opened the round (its record), the fields it named and
its reason, inserted by that corte in the same transaction as its row in ``cortes``
(never updated nor deleted: trigger), as ``actas_publicadas`` records first
publications (revision 0016). The public history (HISTORIAL.csv, the site's timeline)
says, for every correction, why and in which corte it appeared; an acta corrected twice
keeps both, although its state holds only the last.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from central.db.migration_sql import if_role_exists

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "correcciones_publicadas",
        sa.Column("clave_acta", sa.String(13), nullable=False),
        sa.Column("cotejo_record", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("corte_id", sa.BigInteger(), nullable=False),
        sa.Column("campos", postgresql.JSONB(), nullable=False),
        sa.Column("motivo", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["corte_id"], ["cortes.id"],
                                name=op.f("fk_correcciones_publicadas_corte_id_cortes")),
        sa.PrimaryKeyConstraint("clave_acta", "cotejo_record",
                                name=op.f("pk_correcciones_publicadas")),
    )
    op.execute("CREATE TRIGGER correcciones_publicadas_append_only BEFORE UPDATE OR DELETE "
               "ON correcciones_publicadas FOR EACH ROW EXECUTE FUNCTION prep_append_only()")
    op.execute(if_role_exists("prep_api", "GRANT SELECT, INSERT ON correcciones_publicadas "
                                          "TO prep_api"))
    op.execute(if_role_exists("prep_lectura", "GRANT SELECT ON correcciones_publicadas "
                                              "TO prep_lectura"))


def downgrade() -> None:
    op.drop_table("correcciones_publicadas")
