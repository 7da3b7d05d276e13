"""Registered difusores (issue 30): ``difusores``.

A coordinator gives a difusor alta (name and public URL; ``prep central difusor alta``),
which makes a one-time code in ``enrollment_codes`` (role ``difusor``, sitio
``DIFUSOR``) named by ``codigo_sha256``. The difusor spends it with its Ed25519 public
key (``POST /v1/difusores/registro``), then reports, signed, after each corte it
publishes and on each refusal, the corte it serves or its error
(``POST /v1/difusores/reporte``): the last report stays in the row, every one in the
audit log. The dashboard's read-only role may read it (revision 0006 explains the
role); the key is public, the code only a hash.

Revision ID: 0020
Revises: 0019
Create Date: 2027-04-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.db.migration_sql import if_role_exists

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "difusores",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("nombre", sa.String(120), nullable=False),
        sa.Column("url", sa.String(300), nullable=False),
        sa.Column("codigo_sha256", sa.String(64), nullable=False),
        sa.Column("creado_por", sa.String(128), nullable=False),
        sa.Column("creado_at", TIME, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=True),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("registrado_at", TIME, nullable=True),
        sa.Column("corte", sa.String(32), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("reporte_hora", TIME, nullable=True),
        sa.Column("reportado_at", TIME, nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.CheckConstraint("public_key IS NULL OR length(public_key) = 32",
                           name=op.f("ck_difusores_public_key_length")),
        sa.ForeignKeyConstraint(["codigo_sha256"], ["enrollment_codes.code_sha256"],
                                name=op.f("fk_difusores_codigo_sha256_enrollment_codes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_difusores")),
        sa.UniqueConstraint("public_key", name=op.f("uq_difusores_public_key")),
    )
    op.execute(if_role_exists(ROLE, f"GRANT SELECT ON difusores TO {ROLE}"))


def downgrade() -> None:
    op.drop_table("difusores")
