"""Logins for the dashboard: they hold only ``prep_lectura`` and bounded defaults.

``prep central read-only-user NAME`` makes one (or gives an existing one a new
password) and prints the DSN for ``prep dashboard --dsn``. The password is generated
here and sent to PostgreSQL already hashed (a SCRAM-SHA-256 verifier), so it never
reaches the server's logs; it is shown once and stored nowhere.

Role settings are not inherited through membership, so the bounds of revision 0011 are
set on each login: a statement runs at most :data:`STATEMENT_TIMEOUT`, a transaction
left open is closed after a minute, and transactions are read-only. A client may still
change them for its own session (PostgreSQL has no way to forbid it); what it cannot do
is what the privileges forbid (revision 0011) and open more than
:data:`CONNECTION_LIMIT` connections.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.conninfo import make_conninfo

ROLE = "prep_lectura"
STATEMENT_TIMEOUT = "15s"
#: As revision 0011 sets them on the logins that existed then.
LOGIN_SETTINGS = (("statement_timeout", STATEMENT_TIMEOUT),
                  ("idle_in_transaction_session_timeout", "60s"),
                  ("lock_timeout", "5s"), ("default_transaction_read_only", "on"))
#: A dashboard uses two (LISTEN and reads); several dashboards may share one login.
CONNECTION_LIMIT = 10
SCRAM_ITERATIONS = 4096
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: What of the central's DSN is the central's own, not the login's.
_NOT_SHARED = frozenset({"user", "password", "passfile", "options", "application_name"})


class ReadOnlyLoginError(ValueError):
    """The login cannot be made as asked; the message says why, in Spanish."""


@dataclass(frozen=True)
class ReadOnlyLogin:
    """A login made or renewed: its name, whether it is new, and its DSN."""

    name: str
    created: bool
    dsn: str


def set_read_only_login(central_dsn: str, name: str, role: str = ROLE) -> ReadOnlyLogin:
    """Create login ``name`` holding only ``role`` (``prep_lectura``; or
    ``prep_coordinador``, the dashboard's actions: then its transactions are not
    read-only), or give the existing one a new password and the bounds again, through
    the central's own ``central_dsn``; return it with the DSN that reaches the same
    database as that login."""
    if not _NAME.fullmatch(name) or name.startswith("pg_") or name.startswith("prep_"):
        raise ReadOnlyLoginError(
            f"«{name}» no sirve como usuario de solo lectura: use minúsculas, dígitos y "
            "«_» (hasta 63, empezando con letra; no «pg_» ni «prep_»)")
    password = secrets.token_urlsafe(24)
    with psycopg.connect(central_dsn, autocommit=True) as conn, conn.transaction():
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
            raise ReadOnlyLoginError(f"no existe el rol {role}; ejecute «prep central init» "
                                     "(o créelo como indica docs/dashboard.md)")
        created = _create_or_check(conn, name, role)
        login = sql.Identifier(name)
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {} CONNECTION LIMIT {}").format(
            login, sql.Literal(scram_verifier(password)), sql.Literal(CONNECTION_LIMIT)))
        for setting, value in LOGIN_SETTINGS:
            if role != ROLE and setting == "default_transaction_read_only":
                continue
            conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(
                login, sql.Identifier(setting), sql.Literal(value)))
    return ReadOnlyLogin(name, created, login_dsn(central_dsn, name, password))


def login_dsn(central_dsn: str, name: str, password: str) -> str:
    """``central_dsn`` (same server, database and TLS settings) as login ``name``."""
    params = {key: value for key, value in conninfo_to_dict(central_dsn).items()
              if key not in _NOT_SHARED}
    return make_conninfo("", **params, user=name, password=password)


def _create_or_check(conn: psycopg.Connection[tuple[object, ...]], name: str,
                     role: str = ROLE) -> bool:
    """Create ``name`` in ``role``; or, if it exists, make sure it is nothing but a
    login of that role (never turn the central's own user or an administrator into
    one). Whether it was created."""
    row = conn.execute(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls, "
        "pg_has_role(oid, %s, 'MEMBER'), "
        "(SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        " WHERE m.member = r.oid AND g.rolname <> %s), "
        "(SELECT count(*) FROM pg_database WHERE datdba = r.oid) "
        "+ (SELECT count(*) FROM pg_class WHERE relowner = r.oid) "
        "FROM pg_roles r WHERE rolname = %s", (role, role, name)).fetchone()
    if row is None:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
            sql.Identifier(name), sql.Identifier(role)))
        return True
    powerful, member, other_roles, owns = row
    if powerful or not member or other_roles or owns:
        raise ReadOnlyLoginError(
            f"el usuario «{name}» ya existe en PostgreSQL y no es solo de lectura (tiene "
            "otros permisos, otros roles o es dueño de datos): no se cambió. Elija otro "
            "nombre")
    return False


def scram_verifier(password: str, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677;
    the password is taken as is, without SASLprep: it is generated ASCII here)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
