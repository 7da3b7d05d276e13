"""The public log of cortes (issue 67, worktree 67a): ``registro_cortes`` and ``cofirmas``.

- ``registro_cortes``: one row per published corte, its leaf in the append-only Merkle
  tree (RFC 9162) the central publishes under ``publicacion/transparencia/``: index
  (0-based, gapless: a trigger refuses any other), the corte, the entry's time text,
  its manifest's SHA-256, the leaf hash and the root of the tree of size index + 1.
  Inserted in the same transaction as the corte's row in ``cortes`` (so a promoted
  standby has the same log); never updated nor deleted (trigger).
- ``cofirmas``: the cosignatures (C2SP tlog-cosignature/v1) the registered difusores
  report for a checkpoint of size ``tamano``, checked by the central against the log
  and the difusor's key before they are stored; one per difusor and size, append-only.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from central.db.migration_sql import if_role_exists

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | None = None
depends_on: str | None = None

TIME = sa.DateTime(timezone=True)

# Gapless: a leaf's index is the log's size before it (a skipped or repeated index is
# refused even to the owner; the primary key alone would allow a gap).
_GAPLESS = """
CREATE FUNCTION prep_registro_sin_huecos() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  siguiente integer;
BEGIN
  SELECT coalesce(max(indice) + 1, 0) INTO siguiente FROM registro_cortes;
  IF NEW.indice IS DISTINCT FROM siguiente THEN
    RAISE EXCEPTION 'el registro de cortes sigue en la entrada %, no en la %',
      siguiente, NEW.indice USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$f$;
"""


def upgrade() -> None:
    op.create_table(
        "registro_cortes",
        sa.Column("indice", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("corte", sa.String(64), nullable=False),
        sa.Column("hora", sa.String(32), nullable=False),
        sa.Column("manifiesto_sha256", sa.String(64), nullable=False),
        sa.Column("hoja", sa.LargeBinary(), nullable=False),
        sa.Column("raiz", sa.LargeBinary(), nullable=False),
        sa.Column("creado_at", TIME, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("indice >= 0", name=op.f("ck_registro_cortes_indice")),
        sa.CheckConstraint("length(hoja) = 32", name=op.f("ck_registro_cortes_hoja")),
        sa.CheckConstraint("length(raiz) = 32", name=op.f("ck_registro_cortes_raiz")),
        sa.ForeignKeyConstraint(["corte"], ["cortes.directorio"],
                                name=op.f("fk_registro_cortes_corte_cortes")),
        sa.PrimaryKeyConstraint("indice", name=op.f("pk_registro_cortes")),
        sa.UniqueConstraint("corte", name=op.f("uq_registro_cortes_corte")),
    )
    op.create_table(
        "cofirmas",
        sa.Column("difusor", sa.String(32), nullable=False),
        sa.Column("tamano", sa.Integer(), nullable=False),
        sa.Column("linea", sa.Text(), nullable=False),
        sa.Column("hora_cofirma", sa.BigInteger(), nullable=False),
        sa.Column("recibida_at", TIME, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("tamano >= 1", name=op.f("ck_cofirmas_tamano")),
        sa.CheckConstraint("length(linea) <= 400", name=op.f("ck_cofirmas_linea")),
        sa.ForeignKeyConstraint(["difusor"], ["difusores.id"],
                                name=op.f("fk_cofirmas_difusor_difusores")),
        sa.PrimaryKeyConstraint("difusor", "tamano", name=op.f("pk_cofirmas")),
    )
    op.execute(_GAPLESS)
    op.execute("CREATE TRIGGER registro_cortes_sin_huecos BEFORE INSERT ON registro_cortes "
               "FOR EACH ROW EXECUTE FUNCTION prep_registro_sin_huecos()")
    for table in ("registro_cortes", "cofirmas"):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION prep_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION prep_append_only()")
    op.execute(if_role_exists("prep_api", "GRANT SELECT, INSERT ON registro_cortes, cofirmas "
                                          "TO prep_api"))
    op.execute(if_role_exists("prep_lectura", "GRANT SELECT ON registro_cortes, cofirmas "
                                              "TO prep_lectura"))


def downgrade() -> None:
    op.drop_table("cofirmas")
    op.drop_table("registro_cortes")
    op.execute("DROP FUNCTION IF EXISTS prep_registro_sin_huecos()")
