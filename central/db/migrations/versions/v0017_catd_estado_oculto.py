"""The centres whose online status is not published (issue 29): ``catd_estado_oculto``.

AVANCE_CATD.csv and the public site say, per CATD (and for the CCV), whether one of its
stations was heard in the minutes before each corte. A coordinator may hide that for a
centre (``prep central catd-estado ocultar --catd NN --motivo «…»``), audited with the
reason; the row is deleted when it is published again (``… mostrar``, audited too).

Revision ID: 0017
Revises: 0016
Create Date: 2027-03-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "catd_estado_oculto",
        sa.Column("sitio", sa.String(8), nullable=False),
        sa.Column("motivo", sa.String(300), nullable=False),
        sa.Column("ocultado_por", sa.String(128), nullable=False),
        sa.Column("ocultado_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sitio", name=op.f("pk_catd_estado_oculto")),
    )


def downgrade() -> None:
    op.drop_table("catd_estado_oculto")
