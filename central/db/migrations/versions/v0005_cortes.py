"""Published cortes: one row per corte written to ``publicacion/`` (append-only).

Revision ID: 0005
Revises: 0004
Create Date: 2027-02-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cortes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("corte_at", TIME, nullable=False),
        sa.Column("directorio", sa.String(64), nullable=False),
        sa.Column("manifiesto_sha256", sa.String(64), nullable=False),
        sa.Column("catalog_version", sa.Integer(), nullable=False),
        sa.Column("actas_esperadas", sa.Integer(), nullable=False),
        sa.Column("actas_capturadas", sa.Integer(), nullable=False),
        sa.Column("actas_contabilizadas", sa.Integer(), nullable=False),
        sa.Column("fuera_de_catalogo", sa.Integer(), nullable=False),
        sa.Column("imagenes", sa.Integer(), nullable=False),
        sa.Column("ultimo", sa.Boolean(), nullable=False),
        sa.Column("motivo", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", TIME, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("motivo IN ('programado', 'a_pedido')",
                           name=op.f("ck_cortes_motivo")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cortes")),
        sa.UniqueConstraint("directorio", name=op.f("uq_cortes_directorio")),
    )
    # A published corte is a fact: its row is never edited nor removed.
    op.execute("CREATE TRIGGER cortes_append_only BEFORE UPDATE OR DELETE ON cortes "
               "FOR EACH ROW EXECUTE FUNCTION prep_append_only()")


def downgrade() -> None:
    op.drop_table("cortes")
