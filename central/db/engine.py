"""Where the central's PostgreSQL is and how to reach it.

``--dsn`` (or ``PREP_CENTRAL_DSN``) names an existing server: a libpq connection string
or URI, or a SQLAlchemy ``postgresql+psycopg://`` URL. Without one, the central runs a
real PostgreSQL of its own from its data directory (the ``pgserver`` wheel), listening
on a private Unix socket only, its owner let in by the kernel's word and everyone else
by password (:mod:`central.db.embedded`).

Every connection of :func:`make_engine` bounds its lock waits (:mod:`central.db.locks`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import Engine
from sqlalchemy import create_engine

from central.db import locks
from central.db.embedded import Watchdog
from central.db.embedded import start_server
from central.node.config import ENV_DSN

EMBEDDED_DATABASE = "prep_central"
APPLICATION_NAME = "prep-central"
#: Set on the embedded server when its database is created (``ALTER SYSTEM``; the last
#: from its next start): PostgreSQL's defaults are for a small shared machine. Election
#: night writes a few GB of WAL, and at the default 1 GB a checkpoint (and a full copy
#: of every page touched after it) came every few minutes; a full-scale night's
#: database (≈1.5 GB) does not fit the default 128 MB of shared buffers.
EMBEDDED_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min",
                     "shared_buffers": "512MB"}

log = logging.getLogger("central.db")


def configured_dsn(cli_dsn: str | None) -> str | None:
    """The external server's DSN from the command line or the environment, if any."""
    dsn = (cli_dsn or os.environ.get(ENV_DSN, "")).strip()
    if dsn.startswith("postgresql+psycopg://"):
        dsn = "postgresql://" + dsn.removeprefix("postgresql+psycopg://")
    return dsn or None


@contextmanager
def database_dsn(cli_dsn: str | None, pgdata: Path, watch: bool = False) -> Iterator[str]:
    """Yield the libpq DSN to use: the configured server, or the embedded one in
    ``pgdata`` (started here if needed and stopped on exit when this process was its
    last user; with ``watch``, started again meanwhile if it dies: ``serve``)."""
    dsn = configured_dsn(cli_dsn)
    if dsn is not None:
        yield dsn
        return
    log.info("PostgreSQL integrado en %s", pgdata)
    server = start_server(pgdata)
    watchdog = Watchdog(server) if watch else None
    try:
        _ensure_database(server.get_uri(), EMBEDDED_DATABASE)
        if watchdog is not None:
            watchdog.start()
        yield server.get_uri(EMBEDDED_DATABASE)
    finally:
        if watchdog is not None:
            watchdog.stop()
        server.cleanup()


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (SQLAlchemy's or psycopg's) says PostgreSQL cannot be reached
    right now (down, restarting, recovering from a crash), not that a statement failed:
    a connection error without SQLSTATE, or of class 08 (connection) or 57P (shutdown,
    crash, not yet accepting connections)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, psycopg.OperationalError):
        return False
    return orig.sqlstate is None or orig.sqlstate.startswith(("08", "57P"))


def make_engine(dsn: str, pool_size: int = 5, role: str | None = None,
                sesion: str | None = None) -> Engine:
    """A SQLAlchemy engine over psycopg 3 for a libpq ``dsn``, its lock waits bounded
    (:data:`central.db.locks.LOCK_TIMEOUT`; a DSN's own ``options`` may say otherwise).
    ``role``: every connection acts as that role from its start (``SET ROLE``; the
    DSN's user must be a member), e.g. :data:`central.db.privileges.API_ROLE`.
    ``sesion``: a coordinator's session token (hex), as ``prep.sesion`` on every
    connection (what the dashboard's role needs to act: revision 0028)."""
    own = str(conninfo_to_dict(dsn).get("options") or os.environ.get("PGOPTIONS", ""))
    options = f"{locks.session_options()} {own}".strip()
    if sesion is not None:
        if not sesion.isalnum() or not sesion.isascii():
            raise ValueError("session token must be ASCII letters and digits")
        options += f" -c prep.sesion={sesion}"
    if role is not None:
        options += f" -c role={role}"  # last: the DSN's own options cannot undo it
    connect = partial(psycopg.connect, dsn, application_name=APPLICATION_NAME,
                      options=options)
    engine = create_engine("postgresql+psycopg://", creator=connect, pool_size=pool_size,
                           max_overflow=2, pool_pre_ping=True)
    locks.install(engine)
    return engine


def _ensure_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone()
        if exists is None:
            # The settings first: a process that dies between the two statements leaves
            # no database, so the next start does both again.
            for setting, value in EMBEDDED_SETTINGS.items():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
                    sql.Identifier(setting), sql.Literal(value)))
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
