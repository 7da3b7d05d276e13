"""Operator accounts, catalog versions and the station health table.

Operators carry their scrypt hash (salt and parameters stored with it) and a
``revision`` that grows with every change, so a station bundle's version changes
whenever an account does. Catalog versions are append-only (the trigger function of
revision 0001).

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

OPERATOR_ROLES = "('acopiador', 'digitalizador', 'capturista', 'verificador', 'coordinador')"


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("sitio", sa.String(8), nullable=False),
        sa.Column("scrypt_salt", sa.LargeBinary(), nullable=False),
        sa.Column("scrypt_n", sa.Integer(), nullable=False),
        sa.Column("scrypt_r", sa.Integer(), nullable=False),
        sa.Column("scrypt_p", sa.Integer(), nullable=False),
        sa.Column("scrypt_hash", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"role IN {OPERATOR_ROLES}", name=op.f("ck_operators_role")),
        sa.CheckConstraint("sitio ~ '^[0-9]{2}$' OR sitio IN ('CCV', 'CENTRAL')",
                           name=op.f("ck_operators_sitio")),
        sa.CheckConstraint("length(scrypt_salt) >= 16 AND length(scrypt_hash) >= 32",
                           name=op.f("ck_operators_scrypt_lengths")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("sitio", "name", name="uq_operators_sitio_name"),
        sa.UniqueConstraint("revision", name=op.f("uq_operators_revision")),
    )
    op.create_table(
        "catalog_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("files", postgresql.JSONB(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(128), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_catalog_versions_version_positive")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalog_versions")),
    )
    op.execute("CREATE TRIGGER catalog_versions_append_only BEFORE UPDATE OR DELETE ON "
               "catalog_versions FOR EACH ROW EXECUTE FUNCTION prep_append_only()")
    op.execute("CREATE TRIGGER catalog_versions_no_truncate BEFORE TRUNCATE ON "
               "catalog_versions FOR EACH STATEMENT EXECUTE FUNCTION prep_append_only()")
    op.create_table(
        "station_health",
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("backlog", sa.BigInteger(), nullable=True),
        sa.Column("backlog_bytes", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(1024), nullable=True),
        sa.Column("clock_skew_seconds", sa.Float(), nullable=True),
        sa.Column("last_batch", sa.Integer(), nullable=True),
        sa.Column("bundle_version", sa.BigInteger(), nullable=True),
        sa.Column("bundle_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["station"], ["stations.id"],
                                name=op.f("fk_station_health_station_stations")),
        sa.PrimaryKeyConstraint("station", name=op.f("pk_station_health")),
    )


def downgrade() -> None:
    op.drop_table("station_health")
    op.drop_table("catalog_versions")
    op.drop_table("operators")
