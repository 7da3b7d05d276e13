"""Every cotejo the fold accepted, kept on the acta's state: ``acta_states.cotejos``.

The columns of revision 0015 keep the cotejo that confirmed the published data and the
one that opened the last correction round; a confirmation followed by a difference, or
an acta corrected twice, lost the earlier cotejos from the acta's public history
(HISTORIAL.csv and the site's timeline; issue 29). ``cotejos`` lists them all, in the
order the fold accepted them, as ``[record, ronda]`` pairs (``ronda``: the correction
round the cotejo opened; null when it confirmed the data).

Existing rows get the two cotejos those columns hold, in the order they were received;
``prep central rebuild-state`` recovers any earlier ones from the records.

Revision ID: 0021
Revises: 0020
Create Date: 2027-04-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("acta_states", sa.Column("cotejos", JSONB(), nullable=False,
                                           server_default=sa.text("'[]'")))
    op.execute("""
        UPDATE acta_states AS s SET cotejos = (
            SELECT coalesce(jsonb_agg(jsonb_build_array(c.record, c.ronda)
                                      ORDER BY c.received_at), '[]')
            FROM (VALUES (s.cotejo_record, NULL::integer, s.cotejo_received_at),
                         (s.correccion_record, s.correccion_ronda, s.correccion_received_at))
                 AS c(record, ronda, received_at)
            WHERE c.record IS NOT NULL)
        WHERE s.cotejo_record IS NOT NULL OR s.correccion_record IS NOT NULL
    """)


def downgrade() -> None:
    op.drop_column("acta_states", "cotejos")
