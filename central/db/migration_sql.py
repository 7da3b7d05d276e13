"""SQL that several Alembic migrations emit, written once.

Frozen like the migrations that call it: a change here changes what an old revision
does. Only constant text of a migration goes in (role and table names it spells out).
"""

from __future__ import annotations


def if_role_exists(role: str, *statements: str) -> str:
    """A ``DO`` block that runs ``statements`` only where ``role`` exists: a central whose
    administrator could not create the read-only role is still migrated (revision 0006
    explains why the role may be missing)."""
    executed = "\n".join(f"        EXECUTE '{s}';" for s in statements)
    return f"""
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
{executed}
      END IF;
    END
    $$;
    """
