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

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"


def _grant(statement: str) -> None:
    # Constant names only; the role may be missing (revision 0006 explains why).
    op.execute(f"""
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        EXECUTE '{statement}';
      END IF;
    END
    $$;
    """)


def upgrade() -> None:
    _grant("GRANT SELECT ON actas_publicadas TO prep_lectura")


def downgrade() -> None:
    _grant("REVOKE SELECT ON actas_publicadas FROM prep_lectura")
