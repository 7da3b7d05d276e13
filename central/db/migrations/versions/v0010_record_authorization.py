"""Who may record what (issue 36): records ingest did not let move any acta, the
central's own intake station, distritos served by another CATD, nonces of work
requests, and an index for the per-station lease cap.

- ``quarantined_records``: one row per stored record that fails the checks of
  ``central.pipeline.authorize`` (reason, detail), written in the transaction that
  stores it; append-only. Records stored before this revision were never checked:
  they stay as they were folded.
- ``stations.intake``: the PREP Casilla intake station the central enrolls for itself
  (``central.pipeline.intake``); existing ones are recognised by the code the intake made for
  itself (its actor) and the hostname it gave.
- ``catd_distritos``: distrito → the CATD that receives its actas, when not the CATD of
  its own number.
- ``work_nonces``: ``POST /v1/work/next`` requests answered, by station and nonce.
- ``ix_leases_station_active``: active leases of a station (the cap of each ``next``).

Revision ID: 0010
Revises: 0009
Create Date: 2027-03-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from central.db.migration_sql import if_role_exists

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"
INTAKE_ACTOR = "prep central import-casilla"  # central.pipeline.intake.ACTOR
INTAKE_HOSTNAME = "import-casilla"  # central.pipeline.intake.HOSTNAME


def upgrade() -> None:
    op.create_table(
        "quarantined_records",
        sa.Column("record_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"],
                                name=op.f("fk_quarantined_records_record_id_records")),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_quarantined_records")),
    )
    op.execute("CREATE TRIGGER quarantined_records_append_only BEFORE UPDATE OR DELETE ON "
               "quarantined_records FOR EACH ROW EXECUTE FUNCTION prep_append_only()")
    op.execute("CREATE TRIGGER quarantined_records_no_truncate BEFORE TRUNCATE ON "
               "quarantined_records FOR EACH STATEMENT EXECUTE FUNCTION prep_append_only()")
    op.add_column("stations", sa.Column("intake", sa.Boolean(), server_default=sa.false(),
                                        nullable=False))
    op.execute(sa.text("""
        UPDATE stations AS s SET intake = true
        FROM enrollment_codes AS c
        WHERE c.station_id = s.id AND c.created_by = :actor AND s.hostname = :hostname
          AND s.role = 'ccv'
    """).bindparams(actor=INTAKE_ACTOR, hostname=INTAKE_HOSTNAME))
    op.create_table(
        "catd_distritos",
        sa.Column("distrito", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("catd", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("distrito", name=op.f("pk_catd_distritos")),
    )
    op.create_table(
        "work_nonces",
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("nonce", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("station", "nonce", name=op.f("pk_work_nonces")),
    )
    op.create_index("ix_leases_station_active", "leases", ["station"],
                    postgresql_where=sa.text("status = 'active'"))
    op.execute(if_role_exists(
        ROLE, f"GRANT SELECT ON quarantined_records, catd_distritos TO {ROLE}"))


def downgrade() -> None:
    op.drop_index("ix_leases_station_active", table_name="leases")
    op.drop_table("work_nonces")
    op.drop_table("catd_distritos")
    op.drop_column("stations", "intake")
    op.drop_table("quarantined_records")
