"""The acta pipeline: acta states, their images and counted captures, fuera de
catálogo, the pipeline journal (append-only) and the lease history (a lease row is
frozen once it ends).

A database that already holds records gets a journal entry per stored batch, in arrival
order; run ``prep central rebuild-state`` (or load the catalog) to compute their states.

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ESTADOS = ("esperada", "acopiada", "sin_acta", "digitalizada", "captura_1", "captura_2",
           "captura_3", "verificacion", "validada", "redigitalizacion", "fuera_de_catalogo")
WORK_STATES = "estado IN ('digitalizada', 'captura_1', 'captura_2', 'verificacion')"
UUID = sa.Uuid(as_uuid=False)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "acta_states",
        sa.Column("clave_acta", sa.String(13), nullable=False),
        sa.Column("en_catalogo", sa.Boolean(), nullable=False),
        sa.Column("distrito", sa.Integer(), nullable=True),
        sa.Column("eleccion", sa.String(2), nullable=False),
        sa.Column("estado", sa.String(20), nullable=False),
        sa.Column("orden_at", TIME, nullable=True),
        sa.Column("ronda", sa.Integer(), nullable=False),
        sa.Column("imagen_actual", UUID, nullable=True),
        sa.Column("acopio_record", UUID, nullable=True),
        sa.Column("acopio_station", sa.String(64), nullable=True),
        sa.Column("acopio_operator", sa.String(64), nullable=True),
        sa.Column("acopio_at", TIME, nullable=True),
        sa.Column("acopio_received_at", TIME, nullable=True),
        sa.Column("sin_acta_record", UUID, nullable=True),
        sa.Column("sin_acta_causa", sa.String(32), nullable=True),
        sa.Column("sin_acta_station", sa.String(64), nullable=True),
        sa.Column("sin_acta_at", TIME, nullable=True),
        sa.Column("validada_fuente", sa.String(16), nullable=True),
        sa.Column("validada_record", UUID, nullable=True),
        sa.Column("validada_at", TIME, nullable=True),
        sa.Column("validada_received_at", TIME, nullable=True),
        sa.Column("validada_valores", postgresql.JSONB(), nullable=True),
        sa.Column("validada_imagen", UUID, nullable=True),
        sa.Column("validada_origen", sa.String(8), nullable=True),
        sa.Column("validada_digitalizacion", sa.String(16), nullable=True),
        sa.CheckConstraint("estado IN ('" + "', '".join(ESTADOS) + "')",
                           name=op.f("ck_acta_states_estado")),
        sa.PrimaryKeyConstraint("clave_acta", name=op.f("pk_acta_states")),
    )
    op.create_index("ix_acta_states_estado", "acta_states", ["estado"])
    op.create_index("ix_acta_states_work", "acta_states", ["orden_at", "clave_acta"],
                    postgresql_where=sa.text(WORK_STATES))
    op.create_index("ix_acta_states_work_distrito", "acta_states",
                    ["distrito", "orden_at", "clave_acta"],
                    postgresql_where=sa.text(WORK_STATES))
    op.create_table(
        "acta_images",
        sa.Column("record_id", UUID, nullable=False),
        sa.Column("clave_acta", sa.String(13), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("origen", sa.String(8), nullable=False),
        sa.Column("digitalizacion", sa.String(16), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("replaces", UUID, nullable=True),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_acta_images")),
    )
    op.create_index("ix_acta_images_clave_acta", "acta_images", ["clave_acta", "position"])
    op.create_table(
        "acta_captures",
        sa.Column("record_id", UUID, nullable=False),
        sa.Column("clave_acta", sa.String(13), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ronda", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("lease_id", UUID, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("valores", postgresql.JSONB(), nullable=False),
        sa.Column("image_record", UUID, nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('captura', 'verificacion')",
                           name=op.f("ck_acta_captures_kind")),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_acta_captures")),
    )
    op.create_index("ix_acta_captures_clave_acta", "acta_captures",
                    ["clave_acta", "position"])
    op.create_table(
        "fuera_de_catalogo",
        sa.Column("record_id", UUID, nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("codigo_leido", sa.String(256), nullable=False),
        sa.Column("eleccion", sa.String(2), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_fuera_de_catalogo")),
    )
    op.create_table(
        "pipeline_journal",
        sa.Column("pos", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("batch_number", sa.Integer(), nullable=True),
        sa.Column("clave_acta", sa.String(13), nullable=True),
        sa.Column("lease_id", UUID, nullable=True),
        sa.Column("operator", sa.String(64), nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('lote', 'ilegible')",
                           name=op.f("ck_pipeline_journal_kind")),
        sa.PrimaryKeyConstraint("pos", name=op.f("pk_pipeline_journal")),
        sa.UniqueConstraint("station", "batch_number", name="uq_pipeline_journal_batch"),
    )
    op.create_table(
        "leases",
        sa.Column("id", UUID, nullable=False),
        sa.Column("clave_acta", sa.String(13), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("ronda", sa.Integer(), nullable=False),
        sa.Column("image_record", UUID, nullable=True),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("granted_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("record_id", UUID, nullable=True),
        sa.CheckConstraint("kind IN ('captura', 'verificacion')", name=op.f("ck_leases_kind")),
        sa.CheckConstraint("status IN ('active', 'released', 'expired', 'completed', "
                           "'ilegible')", name=op.f("ck_leases_status")),
        sa.ForeignKeyConstraint(["station"], ["stations.id"],
                                name=op.f("fk_leases_station_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leases")),
        sa.UniqueConstraint("clave_acta", "operator", name="uq_leases_acta_operator"),
        sa.UniqueConstraint("record_id", name=op.f("uq_leases_record_id")),
    )
    # At most one live lease per acta, whatever happens concurrently.
    op.create_index("uq_leases_active_acta", "leases", ["clave_acta"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("ix_leases_operator_active", "leases", ["operator", "station"],
                    postgresql_where=sa.text("status = 'active'"))

    for table in ("pipeline_journal",):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION prep_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION prep_append_only()")
    # A lease is history once it ends: its row can change only while it is active.
    op.execute("""
        CREATE FUNCTION prep_lease_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.status = 'active' THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'el lease % ya terminó (%); no se modifica', OLD.id, OLD.status
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("CREATE TRIGGER leases_frozen BEFORE UPDATE OR DELETE ON leases "
               "FOR EACH ROW EXECUTE FUNCTION prep_lease_frozen()")
    op.execute("CREATE TRIGGER leases_no_truncate BEFORE TRUNCATE ON leases "
               "FOR EACH STATEMENT EXECUTE FUNCTION prep_append_only()")
    # Batches stored before this revision, in the order they arrived.
    op.execute("INSERT INTO pipeline_journal (kind, station, batch_number, at) "
               "SELECT 'lote', station, number, received_at FROM batches "
               "ORDER BY received_at, station, number")


def downgrade() -> None:
    for table in ("leases", "pipeline_journal", "fuera_de_catalogo", "acta_captures",
                  "acta_images", "acta_states"):
        op.drop_table(table)
    op.execute("DROP FUNCTION prep_lease_frozen()")
