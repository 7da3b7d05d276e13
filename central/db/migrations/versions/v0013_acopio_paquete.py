"""What an acopio says of its paquete (issue 28): ``acta_states.acopio_traslado`` and
``acopio_tipo_documento``.

An acopio record may now say how the paquete reached the CATD (``traslado``) and which
document arrived (``tipo_documento``), as ``prep.paquete`` tokens (docs/protocol.md). The
fold keeps them with the acta's acopio; the corte publishes them as MECANISMOS_TRASLADO
and TIPO_DOCUMENTO. Both are NULL when the record says nothing, as every record stored
before this revision: those records could not carry the fields, so the states derived
from them stay what ``rebuild-state`` derives.

Revision ID: 0013
Revises: 0012
Create Date: 2027-03-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("acta_states", sa.Column("acopio_traslado", sa.String(16), nullable=True))
    op.add_column("acta_states",
                  sa.Column("acopio_tipo_documento", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("acta_states", "acopio_tipo_documento")
    op.drop_column("acta_states", "acopio_traslado")
