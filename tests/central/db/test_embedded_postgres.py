"""The embedded PostgreSQL lets in only its owner without a password (issue 36).

One server, started the way ``prep central`` starts it without ``--dsn``, from a data
directory whose path is too long for a Unix socket (the case where pgserver used a
world-writable directory): its socket directory is private, every role but the owner
needs its password, a wrong one is refused, another system account gets nothing, and
the dashboard's read-only DSN made by ``prep central read-only-user`` works.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from psycopg.conninfo import make_conninfo

from central.controlroom.overview import read_overview
from central.db import database_dsn
from central.db import make_engine
from central.db import upgrade
from central.db.embedded import EmbeddedError
from central.db.embedded import read_postmaster_info
from central.db.embedded import socket_dir_for
from central.db.embedded import start_server
from tests.harness.central import REPO


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[Path, str]]:
    """(data dir, owner's DSN) of a migrated embedded server with a too-long path."""
    base = Path(tempfile.mkdtemp(prefix="prep-embebido-"))
    data_dir = base / ("d" * 90)
    data_dir.mkdir(mode=0o700)
    socket_dir: Path | None = None
    try:
        with database_dsn(None, data_dir / "pgdata") as dsn:
            socket_dir = _socket_dir(dsn)
            engine = make_engine(dsn, pool_size=1)
            upgrade(engine)
            engine.dispose()
            yield data_dir, dsn
    finally:
        shutil.rmtree(base, ignore_errors=True)
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)  # /tmp/prep-pg-…, now empty


def _socket_dir(dsn: str) -> Path:
    return Path(str(conninfo_to_dict(dsn)["host"]))


def _read_only_user(data_dir: Path, name: str) -> str:
    done = subprocess.run([sys.executable, "-m", "prep", "central", "read-only-user", name,
                           "--data-dir", str(data_dir)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "no se guarda ni se volverá a mostrar" in done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_socket_directory_is_private(embedded: tuple[Path, str]) -> None:
    data_dir, dsn = embedded
    socket_dir = _socket_dir(dsn)
    assert socket_dir == socket_dir_for((data_dir / "pgdata").resolve())
    assert not socket_dir.is_relative_to(data_dir)  # the path was too long for it
    info = socket_dir.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == (data_dir / "pgdata").stat().st_uid  # the server's account
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP at all
        rules = conn.execute("SELECT type, database, user_name, auth_method, options "
                             "FROM pg_hba_file_rules").fetchall()
    assert rules and all(r[3] in {"peer", "scram-sha-256"} for r in rules)  # no trust
    assert all(r[2] == ["postgres"] and r[4] == ["map=prep_duenos"]
               for r in rules if r[3] == "peer")


def test_the_read_only_dsn_works_with_its_password_only(embedded: tuple[Path, str]) -> None:
    data_dir, dsn = embedded
    login_dsn = _read_only_user(data_dir, "tablero")
    params = conninfo_to_dict(login_dsn)
    assert params["user"] == "tablero" and params["host"] == str(_socket_dir(dsn))
    with psycopg.connect(login_dsn) as conn:
        overview = read_overview(conn)  # what the dashboard reads, as the dashboard does
        assert overview.catalog_version == 0
    wrong = make_conninfo(login_dsn, password="otra-" + str(params["password"]))
    without = make_conninfo(login_dsn, password="")
    for attempt in (wrong, without):
        with pytest.raises(psycopg.OperationalError,
                           match=r"password authentication failed|no password"):
            psycopg.connect(attempt, connect_timeout=10)
    # A renewal gives a new password: the old one stops working.
    renewed = _read_only_user(data_dir, "tablero")
    assert conninfo_to_dict(renewed)["password"] != params["password"]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(login_dsn, connect_timeout=10)
    psycopg.connect(renewed).close()


def test_no_role_but_the_owner_gets_in_without_a_password(embedded: tuple[Path, str]) -> None:
    _, dsn = embedded
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE otro_superusuario SUPERUSER LOGIN")
    try:
        for user in ("otro_superusuario", "prep_lectura"):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(make_conninfo(dsn, user=user), connect_timeout=10)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP ROLE otro_superusuario")


def test_another_system_account_cannot_connect_as_the_owner(
        embedded: tuple[Path, str]) -> None:
    _, dsn = embedded
    socket_dir = _socket_dir(dsn)
    if os.geteuid() != 0:
        # Only root can act as another account here; what stops one is this.
        assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
        assert socket_dir.stat().st_uid == os.geteuid()
        return
    nobody = pwd.getpwnam("nobody")
    child = os.fork()
    if child == 0:  # the unprivileged local account of the audit
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            psycopg.connect(make_conninfo(dsn, user="postgres"), connect_timeout=5).close()
            os._exit(0)  # got in as the superuser
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 1


def test_a_socket_directory_that_is_not_private_stops_the_start(tmp_path: Path) -> None:
    pgdata = (tmp_path / ("p" * 90) / "pgdata")
    pgdata.mkdir(parents=True, mode=0o700)
    planted = socket_dir_for(pgdata.resolve())
    planted.mkdir()
    planted.chmod(0o777)  # as another account (or pgserver as root) would leave it
    try:
        with pytest.raises(EmbeddedError, match="no es privado"):
            start_server(pgdata)
        assert not (pgdata / "postmaster.pid").exists()
    finally:
        planted.rmdir()


def test_a_lock_file_read_while_a_postmaster_writes_it_waits_for_the_whole_file(
        embedded: tuple[Path, str], tmp_path: Path) -> None:
    """A second process that looks at the server while a postmaster starts (the watchdog
    of another ``serve``, the soak's restart) finds ``postmaster.pid`` without its status
    line: it waits for the whole file instead of failing on pgserver's assertion."""
    data_dir, _ = embedded
    whole = (data_dir / "pgdata" / "postmaster.pid").read_text()
    lines = whole.splitlines(keepends=True)
    assert len(lines) == 8 and lines[-1].strip() == "ready"
    starting = tmp_path / "arrancando"
    starting.mkdir()
    (starting / "postmaster.pid").write_text("".join(lines[:6]))  # before its status line
    finish = threading.Timer(0.4, lambda: (starting / "postmaster.pid").write_text(whole))
    finish.start()
    try:
        info = read_postmaster_info(_postmaster_info_type(), starting)
    finally:
        finish.join()
    assert info is not None
    assert info.pid == int(lines[0]) and info.status == "ready"

    died = tmp_path / "murio"  # a postmaster killed halfway through writing it
    died.mkdir()
    (died / "postmaster.pid").write_text("".join(lines[:3]))
    assert read_postmaster_info(_postmaster_info_type(), died, settle=0.3) is None
    assert read_postmaster_info(_postmaster_info_type(), tmp_path / "nada") is None


def _postmaster_info_type() -> type:
    from pgserver.utils import PostmasterInfo

    return PostmasterInfo  # type: ignore[no-any-return]
