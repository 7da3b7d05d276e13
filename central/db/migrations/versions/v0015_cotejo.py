"""Cotejo and correction rounds (issue 29): ``acta_states.cotejo_*`` and
``correccion_*``, and cotejo work leases.

A cotejo record now moves the acta (docs/pipeline.md, "Cotejo and correction rounds"):
one that confirms a validated acta's data makes it COTEJADA (``cotejo_*``: the record,
its station, operator, station time and arrival); one that finds a difference opens a
correction round (``correccion_*``: the record, the fields it named as a JSON list, its
reason and the image round of the new captures). ``leases.kind`` may be ``cotejo``: the
central hands validated actas to be checked against their paper.

Cotejo records stored before this revision moved nothing; the states the fold now
derives from them may differ from the stored ones: ``prep central rebuild-state``
(without ``--check``) rewrites them, as loading a catalog does.

Revision ID: 0015
Revises: 0014
Create Date: 2027-03-13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

TIME = sa.DateTime(timezone=True)
#: The cotejo queue's partial index (central.db.actas.COTEJO_QUEUE_SQL, spelled here so
#: the revision never changes with the models).
COTEJO_QUEUE_SQL = "estado = 'validada' AND cotejo_record IS NULL"
_COLUMNS = (
    ("cotejo_record", sa.Uuid(as_uuid=False)), ("cotejo_station", sa.String(64)),
    ("cotejo_operator", sa.String(64)), ("cotejo_at", TIME), ("cotejo_received_at", TIME),
    ("correccion_record", sa.Uuid(as_uuid=False)), ("correccion_station", sa.String(64)),
    ("correccion_operator", sa.String(64)), ("correccion_at", TIME),
    ("correccion_received_at", TIME), ("correccion_campos", postgresql.JSONB()),
    ("correccion_motivo", sa.String(300)), ("correccion_ronda", sa.Integer()),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("acta_states", sa.Column(name, type_, nullable=True))
    op.create_index("ix_acta_states_cotejo", "acta_states",
                    ["distrito", "validada_received_at", "clave_acta"],
                    postgresql_where=sa.text(COTEJO_QUEUE_SQL))
    op.drop_constraint(op.f("ck_leases_kind"), "leases", type_="check")
    op.create_check_constraint(op.f("ck_leases_kind"), "leases",
                               "kind IN ('captura', 'verificacion', 'cotejo')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_leases_kind"), "leases", type_="check")
    op.create_check_constraint(op.f("ck_leases_kind"), "leases",
                               "kind IN ('captura', 'verificacion')")
    op.drop_index("ix_acta_states_cotejo", table_name="acta_states")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("acta_states", name)
