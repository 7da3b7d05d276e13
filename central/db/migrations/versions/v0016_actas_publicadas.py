"""The corte that first published each acta (issue 29): ``actas_publicadas``.

One row per acta, inserted by the corte that first published it with data, in the same
transaction as that corte's row in ``cortes`` (never updated nor deleted: trigger). The
public history (HISTORIAL.csv, the site's timeline) says in which corte each acta was
first published; deriving it from ``cortes.corte_at`` and the validation time would not
be exact (docs/publicacion.md, «Historial de cada acta»).

Revision ID: 0016
Revises: 0015
Create Date: 2027-03-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "actas_publicadas",
        sa.Column("clave_acta", sa.String(13), nullable=False),
        sa.Column("corte_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["corte_id"], ["cortes.id"],
                                name=op.f("fk_actas_publicadas_corte_id_cortes")),
        sa.PrimaryKeyConstraint("clave_acta", name=op.f("pk_actas_publicadas")),
    )
    op.execute("CREATE TRIGGER actas_publicadas_append_only BEFORE UPDATE OR DELETE ON "
               "actas_publicadas FOR EACH ROW EXECUTE FUNCTION prep_append_only()")


def downgrade() -> None:
    op.drop_table("actas_publicadas")
