"""A lease its operator gave back unfinished may come back to them (issue 63):
``leases.status`` may be ``returned``.

A workstation gives its operator's unfinished leases back when the operator leaves the
screen (logout, another screen): it says so in the release (``{"volver": true}``) and the
lease ends ``returned`` instead of ``released``. The rule "never the same operator twice
on one acta" is kept for every other way a lease ends (a record, expiry, a plain release,
a record refused at ingest): its unique index now leaves ``returned`` rows out, so the
operator who walked away can be offered the acta again (at a CATD with one verificador,
nobody else could take it).

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | None = None
depends_on: str | None = None

_STATUSES = "'active', 'released', 'expired', 'completed', 'ilegible'"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_leases_status"), "leases", type_="check")
    op.create_check_constraint(op.f("ck_leases_status"), "leases",
                               f"status IN ({_STATUSES}, 'returned')")
    op.drop_constraint("uq_leases_acta_operator", "leases", type_="unique")
    op.create_index("uq_leases_acta_operator", "leases", ["clave_acta", "operator"],
                    unique=True, postgresql_where=sa.text("status <> 'returned'"))


def downgrade() -> None:
    op.drop_index("uq_leases_acta_operator", table_name="leases")
    # Back to plain releases (history rows are frozen: the trigger steps aside). An
    # operator given an acta again after returning it holds two rows for it: the old
    # unique constraint then cannot come back, and this downgrade fails, as it should.
    op.execute("ALTER TABLE leases DISABLE TRIGGER leases_frozen")
    op.execute("UPDATE leases SET status = 'released' WHERE status = 'returned'")
    op.execute("ALTER TABLE leases ENABLE TRIGGER leases_frozen")
    op.create_unique_constraint("uq_leases_acta_operator", "leases",
                                ["clave_acta", "operator"])
    op.drop_constraint(op.f("ck_leases_status"), "leases", type_="check")
    op.create_check_constraint(op.f("ck_leases_status"), "leases",
                               f"status IN ({_STATUSES})")
