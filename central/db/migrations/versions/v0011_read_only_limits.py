"""The dashboard's read-only role cannot stop the central (issue 36).

By default PUBLIC, and so every login holding only ``prep_lectura``, may call every
function of ``pg_catalog`` and create temporary tables in the database. A read-only
login that took the advisory locks the central waits on froze every ingest, refusal and
``/v1/health``. Here, in this database:

- ``EXECUTE`` on the advisory-lock functions (``pg_advisory_*``, ``pg_try_advisory_*``,
  all their variants), ``pg_notify`` and the large-object creators (``lo_creat``,
  ``lo_create``, ``lo_from_bytea``: disk that no one cleans) is taken from PUBLIC and
  given to the central's own roles: the migrating user and the database's owner.
  Function privileges belong to the bootstrap superuser, so this needs a superuser;
  otherwise a WARNING says what the DBA must run (docs/instalacion.md).
- ``TEMPORARY`` on the database likewise (superuser or the database's owner).
- ``CREATE`` on the schema is taken from PUBLIC (PostgreSQL 14 still granted it).
- Every login that holds ``prep_lectura`` (and is not a superuser nor one of the
  central's roles) gets bounded defaults: ``statement_timeout`` 15 s,
  ``idle_in_transaction_session_timeout`` 60 s, ``lock_timeout`` 5 s, read-only
  transactions, and at most 10 connections if it had no limit. Role settings are not
  inherited through membership, so logins made later get them from ``prep central
  read-only-user`` (``central.db.read_only``) or from the DBA (docs/instalacion.md).

The ``NOTIFY`` command needs no privilege in PostgreSQL: a read-only login can still send
notifications (the dashboard refreshes at most once a second whatever it is told).

Revision ID: 0011
Revises: 0010
Create Date: 2027-03-04
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_lectura"
FUNCTIONS = ("pg_notify", "lo_creat", "lo_create", "lo_from_bytea")
LOGIN_SETTINGS = (("statement_timeout", "15s"), ("idle_in_transaction_session_timeout", "60s"),
                  ("lock_timeout", "5s"), ("default_transaction_read_only", "on"))
CONNECTION_LIMIT = 10

# Constant names only below.
_CENTRAL_ROLES = """
    SELECT DISTINCT r FROM unnest(ARRAY[current_user::text,
        (SELECT pg_get_userbyid(datdba)::text FROM pg_database
         WHERE datname = current_database())]) AS r
"""
_FUNCTIONS = f"""
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (starts_with(p.proname, 'pg_advisory') OR starts_with(p.proname, 'pg_try_advisory')
           OR p.proname IN ({", ".join(f"'{f}'" for f in FUNCTIONS)}))
"""  # noqa: S608
_MEMBERS = f"""
    SELECT r.rolname::text FROM pg_roles r
    WHERE r.rolcanlogin AND NOT r.rolsuper AND pg_has_role(r.oid, '{ROLE}', 'MEMBER')
      AND r.rolname::text NOT IN ({_CENTRAL_ROLES})
"""  # noqa: S608
_SUPER = "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
_CREATEROLE = "(SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user)"
_OWNER = ("(SELECT pg_get_userbyid(datdba) = current_user FROM pg_database "
          "WHERE datname = current_database())")


def upgrade() -> None:
    settings = "\n".join(
        f"      EXECUTE 'ALTER ROLE ' || quote_ident(member) || ' SET {name} = ''{value}''';"
        for name, value in LOGIN_SETTINGS)
    op.execute(f"""
    DO $$
    DECLARE
      fn text;
      central text;
      member text;
    BEGIN
      IF {_SUPER} THEN
        FOR fn IN {_FUNCTIONS} LOOP
          EXECUTE 'REVOKE EXECUTE ON FUNCTION ' || fn || ' FROM PUBLIC';
          FOR central IN {_CENTRAL_ROLES} LOOP
            EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO ' || quote_ident(central);
          END LOOP;
        END LOOP;
      ELSE
        RAISE WARNING 'el usuario % no es superusuario: un superusuario debe quitar a '
          'PUBLIC las funciones de candados (pg_advisory_*), pg_notify y lo_create '
          '(docs/instalacion.md, «Usuario de solo lectura para el tablero»)', current_user;
      END IF;
      IF {_SUPER} OR {_OWNER} THEN
        EXECUTE 'REVOKE TEMPORARY ON DATABASE ' || quote_ident(current_database())
                || ' FROM PUBLIC';
        FOR central IN {_CENTRAL_ROLES} LOOP
          EXECUTE 'GRANT TEMPORARY ON DATABASE ' || quote_ident(current_database())
                  || ' TO ' || quote_ident(central);
        END LOOP;
      ELSE
        RAISE WARNING 'el usuario % no es dueño de la base de datos: su dueño debe quitar '
          'TEMPORARY a PUBLIC (docs/instalacion.md)', current_user;
      END IF;
      IF {_SUPER} OR EXISTS (SELECT FROM pg_namespace WHERE nspname = current_schema()
                             AND nspowner = (SELECT oid FROM pg_roles
                                             WHERE rolname = current_user)) THEN
        EXECUTE 'REVOKE CREATE ON SCHEMA ' || quote_ident(current_schema()) || ' FROM PUBLIC';
      END IF;
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        FOR member IN {_MEMBERS} LOOP
          IF {_SUPER} OR ({_CREATEROLE} AND pg_has_role(member, 'ADMIN')) THEN
{settings}
            IF (SELECT rolconnlimit FROM pg_roles WHERE rolname = member) = -1 THEN
              EXECUTE 'ALTER ROLE ' || quote_ident(member)
                      || ' CONNECTION LIMIT {CONNECTION_LIMIT}';
            END IF;
          ELSE
            RAISE WARNING 'no se pudieron acotar los tiempos del usuario de solo lectura % '
              '(docs/instalacion.md)', member;
          END IF;
        END LOOP;
      END IF;
    END
    $$;
    """)  # noqa: S608


def downgrade() -> None:
    resets = "\n".join(
        f"        EXECUTE 'ALTER ROLE ' || quote_ident(member) || ' RESET {name}';"
        for name, _ in LOGIN_SETTINGS)
    # CREATE on the schema stays taken: PostgreSQL 15 and later never grant it.
    op.execute(f"""
    DO $$
    DECLARE
      fn text;
      member text;
    BEGIN
      IF {_SUPER} THEN
        FOR fn IN {_FUNCTIONS} LOOP
          EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO PUBLIC';
        END LOOP;
      END IF;
      IF {_SUPER} OR {_OWNER} THEN
        EXECUTE 'GRANT TEMPORARY ON DATABASE ' || quote_ident(current_database())
                || ' TO PUBLIC';
      END IF;
      IF {_SUPER} AND EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        FOR member IN {_MEMBERS} LOOP
{resets}
        END LOOP;
      END IF;
    END
    $$;
    """)
