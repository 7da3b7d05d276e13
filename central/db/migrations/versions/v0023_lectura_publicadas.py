"""The control room reads ``actas_publicadas`` (issue 29): ``prep_lectura`` may SELECT it.

The dashboard counted an acta as *publicada* when it was validated, or its correction
round opened, before the last corte. An acta published in one corte whose cotejo found
a difference and whose correction was validated before the next corte matched neither
and dropped out of «Publicadas» until that next corte, although its data was online all
the time. The exact fact is the first corte that published the acta, which this table
holds; the read-only role could not read it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from central.db.migration_sql import if_role_exists

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"


def upgrade() -> None:
    op.execute(if_role_exists(ROLE, "GRANT SELECT ON actas_publicadas TO prep_lectura"))


def downgrade() -> None:
    op.execute(if_role_exists(ROLE, "REVOKE SELECT ON actas_publicadas FROM prep_lectura"))
