"""Audited builds: the build fingerprints the institute audited, and each station's.

- ``audited_builds``: one row per fingerprint registered with ``prep central
  audited-build add`` (name, who, when). A station whose heartbeat reports any other
  fingerprint raises an ``unaudited_build`` anomaly (``central/stations/health.py``).
- ``station_health.build``: the fingerprint of the station's last heartbeat
  (``prep/build_info.py``), shown by ``prep central stations`` and the dashboard.

The dashboard's read-only role (revision 0006) may read the audited list too.

Revision ID: 0007
Revises: 0006
Create Date: 2027-02-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.db.migration_sql import if_role_exists

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"


def upgrade() -> None:
    op.create_table(
        "audited_builds",
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("nombre", sa.String(200), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_audited_builds")),
    )
    op.add_column("station_health", sa.Column("build", sa.String(80), nullable=True))
    op.execute(if_role_exists(ROLE, f"GRANT SELECT ON audited_builds TO {ROLE}"))


def downgrade() -> None:
    op.drop_column("station_health", "build")
    op.drop_table("audited_builds")
