"""Real PostgreSQL for tests and benchmarks.

The server is either the one named by ``PREP_TEST_DSN`` or an embedded one started with
the ``pgserver`` wheel. Every test that wants a clean slate gets a throwaway database
created on that server and dropped afterwards.

DSNs here are libpq connection strings (what ``psycopg.connect`` takes); use
:func:`to_sqlalchemy_url` for SQLAlchemy.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL

ENV_DSN = "PREP_TEST_DSN"
"""Environment variable naming an existing server to test against instead of pgserver."""

_SQLALCHEMY_PREFIX = "postgresql+psycopg://"


def normalize_dsn(dsn: str) -> str:
    """Return ``dsn`` (a libpq URI, a ``key=value`` string or a SQLAlchemy
    ``postgresql+psycopg://`` URL) as a libpq ``key=value`` string."""
    if dsn.startswith(_SQLALCHEMY_PREFIX):
        dsn = "postgresql://" + dsn.removeprefix(_SQLALCHEMY_PREFIX)
    return make_conninfo("", **conninfo_to_dict(dsn))


def to_sqlalchemy_url(dsn: str) -> str:
    """Return the SQLAlchemy URL (``postgresql+psycopg://...``) for a libpq ``dsn``.

    A Unix-socket directory host goes into the query string, where SQLAlchemy's psycopg
    dialect passes it through to libpq.
    """
    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    host = params.pop("host", None)
    port = params.pop("port", None)
    if host is not None and (host.startswith("/") or "," in host):
        params["host"] = host
        host = None
    url = URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None) or None,
        host=host,
        port=int(port) if port else None,
        database=params.pop("dbname", None),
        query=params,
    )
    return url.render_as_string(hide_password=False)


@contextmanager
def embedded_server(base_dir: Path) -> Iterator[str]:
    """Run a pgserver PostgreSQL with its data in ``base_dir/pgdata``; yield its DSN.

    The server listens on a Unix socket only (no TCP port) and is stopped on exit.
    """
    with warnings.catch_warnings():
        # pgserver asks platformdirs for the user runtime dir at import time; without
        # XDG_RUNTIME_DIR (root over ssh, containers) platformdirs warns and falls back
        # to /tmp/runtime-<uid>, which is fine for pgserver's lock file.
        warnings.filterwarnings(
            "ignore", message=r"XDG_RUNTIME_DIR is not set", category=UserWarning
        )
        from pgserver.postgres_server import get_server

    server = get_server(base_dir / "pgdata", cleanup_mode="stop")
    try:
        yield normalize_dsn(server.get_uri())
    finally:
        server.cleanup()


@contextmanager
def server_base(prefix: str) -> Iterator[Path]:
    """A fresh directory for servers' data that their own account can enter: outside
    pytest's basetemp (another pytest session resets that tree to 0700); removed on
    exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def server_dsn(base_dir: Path) -> Iterator[str]:
    """Yield the DSN of the server to test against: ``PREP_TEST_DSN`` if set, otherwise
    an embedded server kept in ``base_dir`` for the duration of the ``with`` block."""
    external = os.environ.get(ENV_DSN, "").strip()
    if external:
        yield normalize_dsn(external)
        return
    with embedded_server(base_dir) as dsn:
        yield dsn


@contextmanager
def temporary_database(admin_dsn: str, prefix: str = "prep_test") -> Iterator[str]:
    """Create a fresh, randomly named database on ``admin_dsn``'s server, yield its DSN,
    and drop it (disconnecting any leftover sessions) on exit.

    ``admin_dsn``'s role needs ``CREATEDB``; dropping uses ``WITH (FORCE)``
    (PostgreSQL 13 or later).
    """
    name = f"{prefix}_{secrets.token_hex(6)}"
    database = sql.Identifier(name)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(database))
    try:
        yield make_conninfo(admin_dsn, dbname=name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))


def busy_backend(dsn: str) -> threading.Thread:
    """A backend busy in a loop that never checks whether its postmaster is alive, as a
    long query is (it outlives a killed postmaster until it is ended); returned once its
    statement runs. Its thread ends when the backend does."""
    started = threading.Event()

    def run() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                started.set()
                conn.execute("DO $$BEGIN LOOP END LOOP; END$$")
        except psycopg.Error:
            pass  # its server was killed under it

    thread = threading.Thread(target=run, name="backend-ocupado", daemon=True)
    thread.start()
    if not started.wait(60):
        raise RuntimeError("no connection to the server")
    time.sleep(0.5)  # the statement is on its way
    return thread


class SocketLink:
    """A Unix-socket PostgreSQL reached through a socket directory of its own (``dsn``),
    whose link to the server's real socket can be taken away (the server out of reach,
    as when it restarts) and put back: a real server, a real connection failure."""

    def __init__(self, server_dsn: str, directory: Path) -> None:
        params = conninfo_to_dict(server_dsn)
        name = f".s.PGSQL.{params.get('port') or 5432}"
        self._target = Path(str(params["host"])) / name
        self._link = directory / name
        self.dsn = make_conninfo(server_dsn, host=str(directory))

    def cut(self) -> None:
        self._link.unlink()

    def restore(self) -> None:
        os.symlink(self._target, self._link)


@contextmanager
def socket_link(server_dsn: str, linked: bool = True) -> Iterator[SocketLink]:
    """A :class:`SocketLink` to ``server_dsn`` (linked at first, or not)."""
    with tempfile.TemporaryDirectory(prefix="pg-") as directory:  # short: a socket path
        link = SocketLink(server_dsn, Path(directory))
        if linked:
            link.restore()
        yield link
