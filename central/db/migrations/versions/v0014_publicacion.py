"""The Consejo's publication window and the *último corte* (issue 28): ``publicacion``.

One row (``id`` = 1, inserted here with nothing set):

- ``inicio``, ``fin``: the window the Consejo fixed for the publication (at most 24
  hours; both NULL until a coordinator fixes it with ``prep central ventana`` or
  ``prep central serve --publicacion-inicio`` does). On-demand cortes outside it need
  a coordinator's audited reason; scheduled cortes follow it.
- ``ultimo_corte``: the corte that ended the publication (``cortes.id``); while it is
  set no public corte is made, scheduled or on demand, until an audited, reasoned
  reopening clears it (``prep central reabrir-publicacion``).

Every change is audited (``publication_window_set``, ``publication_closed``,
``publication_reopened``); the row only says what holds now. The dashboard's read-only
role may read it (revision 0006 explains the role).

Revision ID: 0014
Revises: 0013
Create Date: 2027-03-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.db.migration_sql import if_role_exists

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publicacion",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("inicio", TIME, nullable=True),
        sa.Column("fin", TIME, nullable=True),
        sa.Column("ultimo_corte", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", TIME, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_publicacion_single_row")),
        sa.CheckConstraint("(inicio IS NULL) = (fin IS NULL) AND (fin IS NULL OR (fin > inicio "
                           "AND fin - inicio <= interval '24 hours'))",
                           name=op.f("ck_publicacion_ventana")),
        sa.ForeignKeyConstraint(["ultimo_corte"], ["cortes.id"],
                                name=op.f("fk_publicacion_ultimo_corte_cortes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publicacion")),
    )
    op.execute("INSERT INTO publicacion (id) VALUES (1)")
    op.execute(if_role_exists(ROLE, f"GRANT SELECT ON publicacion TO {ROLE}"))


def downgrade() -> None:
    op.drop_table("publicacion")
