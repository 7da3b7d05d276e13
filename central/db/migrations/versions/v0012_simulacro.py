"""A drill's central says so (issue 28): ``installation.simulacro``.

- ``installation``: one row (``id`` = 1, inserted here with ``simulacro`` false) that
  says what this central is. ``prep central init --simulacro`` (always under ``prep
  simulacro``) sets ``simulacro``; every corte of such a central is stamped SIMULACRO
  (docs/simulacro.md).
- ``prep_holds_results()``: whether the database holds anything of an election night
  (a station's record, an acta image, a fuera-de-catálogo acopio, an acta past
  *esperada*, a published corte).
- A trigger refuses to change ``simulacro`` once ``prep_holds_results()`` (a drill's
  results must never turn into an election's, nor an election's into a drill's), and
  refuses to delete or truncate the row. It first locks the tables those results live
  in (SHARE: ingest waits a moment), so a batch committing meanwhile is seen.

The dashboard's read-only role may read the row (revision 0006 explains the role).

Revision ID: 0012
Revises: 0011
Create Date: 2027-03-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.db.migration_sql import if_role_exists

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"
RESULT_TABLES = ("records", "cortes", "fuera_de_catalogo", "acta_images", "acta_states")


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("simulacro", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_installation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.execute("INSERT INTO installation (id, simulacro) VALUES (1, false)")
    op.execute("""
    CREATE FUNCTION prep_holds_results() RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT FROM records) OR EXISTS (SELECT FROM cortes)
            OR EXISTS (SELECT FROM fuera_de_catalogo) OR EXISTS (SELECT FROM acta_images)
            OR EXISTS (SELECT FROM acta_states WHERE estado <> 'esperada')
    $$
    """)
    op.execute(f"""
    CREATE FUNCTION prep_installation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' THEN
            RAISE EXCEPTION 'la fila de installation dice si este nodo central es de un '
                'simulacro: no se borra (% rechazado)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.simulacro IS DISTINCT FROM OLD.simulacro THEN
            LOCK TABLE {", ".join(RESULT_TABLES)} IN SHARE MODE;
            IF prep_holds_results() THEN
                RAISE EXCEPTION 'la base de datos ya tiene resultados: el indicador '
                    'SIMULACRO no se puede cambiar (%). Use una base de datos nueva.',
                    CASE WHEN OLD.simulacro THEN 'quitar' ELSE 'poner' END
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            NEW.changed_at := now();
        END IF;
        RETURN NEW;
    END
    $$
    """)
    op.execute("CREATE TRIGGER installation_guard BEFORE UPDATE OR DELETE ON installation "
               "FOR EACH ROW EXECUTE FUNCTION prep_installation_guard()")
    op.execute("CREATE TRIGGER installation_no_truncate BEFORE TRUNCATE ON installation "
               "FOR EACH STATEMENT EXECUTE FUNCTION prep_installation_guard()")
    op.execute(if_role_exists(ROLE, f"GRANT SELECT ON installation TO {ROLE}"))


def downgrade() -> None:
    op.drop_table("installation")
    op.execute("DROP FUNCTION prep_installation_guard()")
    op.execute("DROP FUNCTION prep_holds_results()")
