"""``prep_api``: the role ``prep central serve`` serves as (issue 33, least privilege).

The API inserts records, batches and audit events but can neither update nor delete
them, updates only the rows that legitimately change (acta state, station health,
leases, a station's last batch and last-seen, an enrollment code spent, a refusal
anomaly's count, the publication's último corte), and owns nothing: no ``ALTER``,
``DROP``, ``TRUNCATE`` nor trigger change. The decision per table, and why, is
``central/db/privileges.py``; this revision applies the decision for the tables that
exist now (later revisions grant on their own new tables).

- Role ``prep_api`` (NOLOGIN) is created if missing; roles belong to the whole server,
  so it is kept on downgrade. A migrating user that cannot create roles stops here
  with what the DBA must run (docs/seguridad.md): without the role there is no least
  privilege to serve with.
- The migrating user (the owner) is made a member if it is not, so that ``serve``
  given the owner's DSN can still act as ``prep_api`` (``SET ROLE``); a DBA gives the
  service its own login instead (``CREATE ROLE prep_servicio LOGIN IN ROLE prep_api``).
- ``USAGE`` on the sequences of the tables it inserts into, on the schema, and
  ``EXECUTE`` on the functions revision 0011 took from PUBLIC (advisory locks,
  ``pg_notify``, which the dashboard triggers call as the inserting role): only a
  superuser can grant those, and without one 0011 left them to PUBLIC anyway.

Revision ID: 0022
Revises: 0021
Create Date: 2027-04-20
"""

from __future__ import annotations

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_api"
SELECT = ("acta_captures", "acta_images", "acta_states", "actas_publicadas",
          "alembic_version", "anomalies", "audit_log", "audited_builds", "batches",
          "blob_contents", "catalog_versions", "catd_distritos", "catd_estado_oculto",
          "central_nodes", "cortes", "difusores", "enrollment_codes",
          "fuera_de_catalogo", "installation", "leases",
          "operators", "pipeline_journal", "publicacion", "quarantine",
          "quarantined_records", "records", "station_health", "stations", "work_nonces")
INSERT = ("acta_captures", "acta_images", "acta_states", "actas_publicadas", "anomalies",
          "audit_log", "batches", "blob_contents", "cortes", "fuera_de_catalogo", "leases",
          "pipeline_journal", "quarantine", "quarantined_records", "records",
          "station_health", "stations", "work_nonces")
UPDATE = ("acta_states", "station_health")
UPDATE_COLUMNS = {
    "anomalies": ("detail",),
    "difusores": ("public_key", "hostname", "registrado_at", "corte", "error",
                  "reporte_hora", "reportado_at", "version"),
    "enrollment_codes": ("used_at", "station_id"),
    "leases": ("status", "ended_at", "expires_at", "record_id"),
    "publicacion": ("ultimo_corte", "changed_at"),
    "stations": ("last_batch", "last_batch_sha256", "last_seq", "last_seen_at"),
}
#: The serial keys of the tables in INSERT.
SEQUENCES = (("anomalies", "id"), ("audit_log", "id"), ("cortes", "id"),
             ("pipeline_journal", "pos"), ("quarantine", "id"))

# Constant names only below.
_FUNCTIONS = """
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (starts_with(p.proname, 'pg_advisory') OR starts_with(p.proname, 'pg_try_advisory')
           OR p.proname = 'pg_notify')
"""
_SUPER = "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
_CAN_CREATE = ("EXISTS (SELECT FROM pg_roles WHERE rolname = current_user "
               "AND (rolsuper OR rolcreaterole))")


def _grants() -> list[str]:
    statements = [
        f"GRANT USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' TO {ROLE}",
        f"GRANT SELECT ON {', '.join(SELECT)} TO {ROLE}",
        f"GRANT INSERT ON {', '.join(INSERT)} TO {ROLE}",
        f"GRANT UPDATE ON {', '.join(UPDATE)} TO {ROLE}",
    ]
    statements += [f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {ROLE}"
                   for table, columns in UPDATE_COLUMNS.items()]
    statements += [f"GRANT USAGE ON SEQUENCE ' || pg_get_serial_sequence('{table}', "
                   f"'{column}') || ' TO {ROLE}" for table, column in SEQUENCES]
    return statements


def upgrade() -> None:
    grants = "\n".join(f"      EXECUTE '{g}';" for g in _grants())
    op.execute(f"""
    DO $$
    DECLARE
      fn text;
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        IF {_CAN_CREATE} THEN
          CREATE ROLE {ROLE} NOLOGIN;
        ELSE
          RAISE EXCEPTION 'falta el rol {ROLE} y el usuario % no puede crearlo', current_user
            USING HINT = 'Un administrador de PostgreSQL debe ejecutar «CREATE ROLE {ROLE} '
                         'NOLOGIN» y volver a ejecutar «prep central init» '
                         '(docs/seguridad.md, «Roles de PostgreSQL»)';
        END IF;
      END IF;
      IF NOT {_SUPER} THEN
        -- Even if already a member: PostgreSQL 16 makes the creator of a role a member
        -- that cannot SET it. Granting an existing membership again is only a notice.
        BEGIN
          EXECUTE 'GRANT {ROLE} TO ' || quote_ident(current_user);
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
          RAISE WARNING 'el usuario % no es miembro de {ROLE}: «prep central serve» con '
            'su DSN no podrá atender; dé a serve un usuario del rol {ROLE} '
            '(docs/seguridad.md)', current_user;
        END;
      END IF;
{grants}
      IF {_SUPER} THEN
        FOR fn IN {_FUNCTIONS} LOOP
          EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO {ROLE}';
        END LOOP;
      END IF;
    END
    $$;
    """)


def downgrade() -> None:
    op.execute(f"""
    DO $$
    DECLARE
      fn text;
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA ' || quote_ident(current_schema())
                || ' FROM {ROLE}';
        EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || quote_ident(current_schema())
                || ' FROM {ROLE}';
        EXECUTE 'REVOKE USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' FROM {ROLE}';
        IF {_SUPER} THEN
          FOR fn IN {_FUNCTIONS} LOOP
            EXECUTE 'REVOKE EXECUTE ON FUNCTION ' || fn || ' FROM {ROLE}';
          END LOOP;
        END IF;
      END IF;
    END
    $$;
    """)  # noqa: S608
