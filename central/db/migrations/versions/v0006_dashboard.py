"""The control-room dashboard: a read-only role and LISTEN/NOTIFY triggers.

- Role ``prep_lectura`` (NOLOGIN): SELECT on what the dashboard shows, nothing else
  (operators only by id, name, role, site and whether enabled: never password hashes;
  no records, batches, blobs nor enrollment codes). A login user gets it with
  ``GRANT prep_lectura TO …`` (docs/dashboard.md). Roles belong to the whole server, so
  the role is created only if missing and kept on downgrade (other databases of the
  same server may use it); a migration user without CREATEROLE leaves a warning and the
  DBA creates the role and runs the grants (the same statements, in the docs).
- Statement-level triggers on ``acta_states``, ``anomalies``, ``station_health`` and
  ``cortes`` send ``NOTIFY prep_dashboard, '<table>'``. PostgreSQL folds identical
  notifications of one transaction into one, so an ingested batch of 400 records is one
  notification per table, sent at commit; the dashboard debounces further.

Revision ID: 0006
Revises: 0005
Create Date: 2027-02-14
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"
CHANNEL = "prep_dashboard"
READ_TABLES = ("acta_states", "acta_images", "acta_captures", "anomalies", "station_health",
               "stations", "cortes", "catalog_versions", "audit_log", "leases",
               "fuera_de_catalogo")
OPERATOR_COLUMNS = ("id", "name", "role", "sitio", "enabled")
NOTIFY_TABLES = ("acta_states", "anomalies", "station_health", "cortes")


def _grants() -> list[str]:
    tables = ", ".join(READ_TABLES)  # constant names only
    return [
        f"GRANT USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' TO {ROLE}",
        f"GRANT SELECT ON {tables} TO {ROLE}",
        f"GRANT SELECT ({', '.join(OPERATOR_COLUMNS)}) ON operators TO {ROLE}",
    ]


def upgrade() -> None:
    grants = "\n".join(f"        EXECUTE '{g}';" for g in _grants())
    # Every name below is a constant of this module: nothing comes from outside.
    op.execute(f"""
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = current_user
                   AND (rolsuper OR rolcreaterole)) THEN
          CREATE ROLE {ROLE} NOLOGIN;
        ELSE
          RAISE WARNING 'no se creó el rol {ROLE}: el usuario % no tiene CREATEROLE; '
                        'créelo y otórguele lectura (docs/dashboard.md)', current_user;
        END IF;
      END IF;
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
{grants}
      END IF;
    END
    $$;
    """)  # noqa: S608
    op.execute(f"""
    CREATE FUNCTION prep_dashboard_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
      RETURN NULL;
    END
    $$;
    """)
    for table in NOTIFY_TABLES:
        op.execute(f"CREATE TRIGGER {table}_dashboard_notify AFTER INSERT OR UPDATE OR "
                   f"DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION "
                   "prep_dashboard_notify()")


def downgrade() -> None:
    for table in NOTIFY_TABLES:
        op.execute(f"DROP TRIGGER {table}_dashboard_notify ON {table}")
    op.execute("DROP FUNCTION prep_dashboard_notify()")
    op.execute(f"""
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        EXECUTE 'REVOKE SELECT ON {", ".join(READ_TABLES)} FROM {ROLE}';
        EXECUTE 'REVOKE SELECT ({", ".join(OPERATOR_COLUMNS)}) ON operators FROM {ROLE}';
        EXECUTE 'REVOKE USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' FROM {ROLE}';
      END IF;
    END
    $$;
    """)  # noqa: S608 (constant names only)
