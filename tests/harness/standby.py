"""A PostgreSQL primary with a hot standby streaming from it, for what must work on a
replica (the dashboard reads one where the control room has it; docs/dashboard.md).

Both are real servers from the ``pgserver`` wheel's binaries: the primary through
:func:`tests.harness.postgres.embedded_server`, the standby made with ``pg_basebackup
-R`` and started with ``pg_ctl`` on a Unix socket of its own. Under root both run as
pgserver's system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.conninfo import make_conninfo

from tests.harness.postgres import embedded_server

STANDBY_PORT = "5499"  # names the standby's socket file; no TCP port is opened


@dataclass(frozen=True)
class Replicated:
    """The primary's DSN, the standby's DSN (same role and database) and its data."""

    primary: str
    standby: str
    standby_data: Path

    def promote(self) -> None:
        """Make the standby a primary of its own (``pg_ctl promote``), as a failover does."""
        _pg("pg_ctl", "-D", str(self.standby_data), "-w", "promote")


def _bin(name: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _system_user() -> str | None:
    """pgserver's system user when we are root (it made it when starting the primary)."""
    return "pgserver" if os.geteuid() == 0 else None


def _pg(name: str, *args: str) -> None:
    subprocess.run([_bin(name), *args], check=True, capture_output=True, timeout=120,
                   user=_system_user())


@contextmanager
def primary_with_standby() -> Iterator[Replicated]:
    """Start a throwaway primary and a hot standby of it; stop both on exit."""
    base = Path(tempfile.mkdtemp(prefix="prep-repl-"))  # short: socket paths ≤ 107 bytes
    os.chmod(base, 0o755)
    (base / "primary").mkdir()
    try:
        with embedded_server(base / "primary") as primary:
            standby = base / "standby"
            standby.mkdir(mode=0o700)
            user = _system_user()
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(standby, entry.pw_uid, entry.pw_gid)
            params = conninfo_to_dict(primary)
            _pg("pg_basebackup", "-h", str(params["host"]), "-p",
                str(params.get("port") or 5432), "-U", str(params["user"]), "-D",
                str(standby), "-R", "-X", "stream")
            _pg("pg_ctl", "-D", str(standby), "-l", str(standby / "log"), "-w", "-o",
                f"-k {standby} -c listen_addresses= -p {STANDBY_PORT}", "start")
            try:
                dsn = make_conninfo(primary, host=str(standby), port=STANDBY_PORT)
                with psycopg.connect(dsn) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    assert row is not None and row[0] is True, "not a standby"
                yield Replicated(primary, dsn, standby)
            finally:
                _pg("pg_ctl", "-D", str(standby), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
