"""What each published correction changed, and the history rows it superseded (issue 61):
``correcciones_publicadas.cambios`` and ``.previas``.

The public history only grows: every row a corte published stays in every later corte.
A correction re-validates the acta, so the history its new state generates no longer
holds the earlier VALIDACION row, and the CORRECCION_PUBLICADA row must say what changed
from what to what. The corte that first publishes a correction reads both from the
previous corte's files (the acta's CSV row and its HISTORIAL.csv rows) and records them
here with the correction, so that every later corte publishes the very same rows:
``cambios`` is ``[[campo, antes, después], ...]``, ``previas`` the acta's HISTORIAL rows
(without CLAVE_ACTA) that the previous corte published. Both empty for a correction
published before this revision, or when the previous corte's files were not at hand.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    for column in ("cambios", "previas"):
        op.add_column("correcciones_publicadas", sa.Column(
            column, postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    for column in ("previas", "cambios"):
        op.drop_column("correcciones_publicadas", column)
