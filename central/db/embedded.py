"""The embedded PostgreSQL (the ``pgserver`` wheel), started so that only its owner gets
in without a password.

pgserver's own start trusts every local connection and, when the data directory's path
is too long for a Unix socket, puts the socket in a shared runtime directory (made
world-writable when run as root): any local account could then connect as the
superuser. Here, on every start:

- ``pg_hba.conf``: the owner role ``postgres`` only through the Unix socket and only
  from the operating-system account that owns the data directory (or root), checked by
  the kernel (``peer``); every other role with its password (SCRAM-SHA-256); nothing is
  trusted. No TCP listener at all.
- The socket lives in the data directory (mode 0700, the server's account) or, when
  that path is too long, in a directory of its own in the temporary directory, made
  0700 for the server's account. A directory that is not private (another owner, a
  symbolic link, group or other permissions) stops the start with a Spanish message.

A server already running (another process of the same node started it) is checked the
same way and its authentication files are rewritten and reloaded if they differ.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shlex
import stat
import subprocess
import tempfile
import time
import warnings
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger("central.db")

OWNER_ROLE = "postgres"
#: ``sun_path`` holds 108 bytes with its NUL; PostgreSQL refuses longer socket paths.
MAX_SOCKET_PATH = 107
SOCKET_NAME = ".s.PGSQL.5432"
IDENT_MAP = "prep_duenos"
START_SECONDS = 60

HBA = f"""\
# Written by PREP (central/db/embedded.py) at every start of the embedded server.
# The owner role only through the private Unix socket and only from the system
# account that owns the data (peer); every other role with its password.
local   all          {OWNER_ROLE}                    peer map={IDENT_MAP}
local   replication  {OWNER_ROLE}                    peer map={IDENT_MAP}
local   all          all                          scram-sha-256
host    all          all        127.0.0.1/32      scram-sha-256
host    all          all        ::1/128           scram-sha-256
"""


class EmbeddedError(OSError):
    """The embedded server cannot be started safely; the message says why, in Spanish
    (an :class:`OSError`: the commands print it as one line, like a missing file)."""


def start_server(pgdata: Path) -> Any:
    """Start (or join) the embedded server of ``pgdata``; stop it with ``cleanup()``.

    Raises :class:`EmbeddedError` when it cannot be made private.
    """
    if platform.system() == "Windows":
        raise EmbeddedError("el PostgreSQL integrado del nodo central solo funciona en "
                            "Linux; en Windows indique un PostgreSQL con --dsn")
    pgdata = pgdata.expanduser().resolve()
    if not pgdata.parent.is_dir():
        raise EmbeddedError(f"no existe el directorio {pgdata.parent}; ejecute «prep central "
                            "init» con ese --data-dir")
    pgdata.mkdir(mode=0o700, exist_ok=True)
    _check_account(pgdata)
    server = _server_type()
    existing = server._instances.get(pgdata)
    if isinstance(existing, server):
        return existing
    try:
        return server(pgdata, cleanup_mode="stop")
    except BaseException:
        server._instances.pop(pgdata, None)  # pgserver keeps even a failed one
        raise


def socket_dir_for(pgdata: Path) -> Path:
    """Where the socket of ``pgdata``'s server goes: the data directory itself when its
    path is short enough, otherwise a directory of its own in the temporary directory
    (named after the data directory, so two nodes never share one)."""
    if _fits(pgdata) and _plain(pgdata):
        return pgdata
    digest = hashlib.sha256(f"{pgdata}-{pgdata.stat().st_ino}".encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()).resolve() / f"prep-pg-{digest}"
    if not _fits(fallback):
        raise EmbeddedError(f"la ruta del directorio temporal ({fallback.parent}) es "
                            "demasiado larga para el socket de PostgreSQL; use un --data-dir "
                            "más corto o TMPDIR=/tmp")
    return fallback


def check_private(directory: Path, uid: int) -> None:
    """Raise :class:`EmbeddedError` unless ``directory`` is a real directory of account
    ``uid`` that no one else can enter, in a parent not everyone can rename it in."""
    try:
        info = directory.lstat()
    except FileNotFoundError:
        raise EmbeddedError(
            f"el PostgreSQL integrado está en marcha con su socket en {directory}, que "
            "este proceso no ve (el servicio tiene su propio /tmp): use un --data-dir de "
            "ruta más corta, para que el socket quede en el directorio de datos") from None
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or mode & 0o077:
        raise EmbeddedError(
            f"el directorio del socket de PostgreSQL {directory} no es privado (dueño "
            f"{_account(info.st_uid)}, permisos {mode:04o}; deben ser de "
            f"{_account(uid)} y 0700): otra cuenta del equipo pudo crearlo o abrirlo. "
            "No se arrancó el PostgreSQL integrado. Bórrelo si no es de PREP (o reinicie "
            "el equipo) y vuelva a intentar")
    parent = directory.parent.stat()
    if parent.st_mode & 0o002 and not parent.st_mode & stat.S_ISVTX:
        raise EmbeddedError(f"cualquier cuenta puede escribir en {directory.parent} (sin el "
                            "bit «sticky»), donde está el socket de PostgreSQL; use otro "
                            "--data-dir u otro TMPDIR")


def _check_account(pgdata: Path) -> None:
    """Root may run a node only from a data directory that pgserver's account (or root)
    owns: pgserver would otherwise take the directory away from the node's account."""
    owner = pgdata.stat().st_uid
    if os.geteuid() == 0 and owner not in (0, _uid("pgserver")):
        raise EmbeddedError(f"los datos de PostgreSQL de {pgdata} son de la cuenta "
                            f"{_account(owner)}; ejecute el comando como esa cuenta (por "
                            f"ejemplo «sudo -u {_account(owner)} prep central …»), no como "
                            "root")


def _fits(directory: Path) -> bool:
    return len(os.fsencode(directory / SOCKET_NAME)) <= MAX_SOCKET_PATH


def _plain(directory: Path) -> bool:
    """Whether PostgreSQL and pg_ctl take the path as is (a list of directories is
    comma-separated, and quoting differs between them)."""
    return not set(str(directory)) & set(',"\'\\ \t\n')


def _uid(name: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _account(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _make_private(directory: Path, uid: int) -> None:
    """Create ``directory`` 0700 for ``uid`` if missing; then insist it is private."""
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        pass
    else:
        if os.geteuid() == 0 and uid != 0:
            os.chown(directory, uid, -1)
    check_private(directory, uid)


def _write_auth(pgdata: Path) -> bool:
    """Write ``pg_hba.conf`` and ``pg_ident.conf``; whether either changed."""
    uid = pgdata.stat().st_uid
    accounts = dict.fromkeys([_account(uid), _account(os.geteuid())])
    for name in accounts:
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise EmbeddedError(f"la cuenta del sistema «{name}» tiene caracteres que "
                                "PostgreSQL no admite en pg_ident.conf")
    ident = "".join(f"{IDENT_MAP}  {name}  {OWNER_ROLE}\n" for name in accounts)
    changed = False
    for name, content in (("pg_hba.conf", HBA), ("pg_ident.conf", ident)):
        path = pgdata / name
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        partial = pgdata / f".{name}.nuevo"
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        if os.geteuid() == 0:
            os.chown(partial, uid, -1)
        os.replace(partial, path)
        changed = True
    return changed


@cache
def _server_type() -> Any:
    """pgserver's server class with authentication and socket made private (defined on
    first use: importing pgserver is not free, and only a node without --dsn needs it)."""
    with warnings.catch_warnings():
        # pgserver asks platformdirs for XDG_RUNTIME_DIR at import; without it (root,
        # containers) platformdirs warns and uses /tmp/runtime-<uid>, for pgserver's
        # lock file only (never for the socket: see socket_dir_for).
        warnings.filterwarnings("ignore", message=r"XDG_RUNTIME_DIR is not set")
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import
        from pgserver.postgres_server import PostgresServer
        from pgserver.utils import PostmasterInfo

    class PrivateServer(PostgresServer):
        _auth_changed = False

        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()  # initdb if new; its trust lines go below
            _check_account(self.pgdata)
            self._auth_changed = _write_auth(self.pgdata)

        def ensure_postgres_running(self) -> None:
            uid = self.pgdata.stat().st_uid
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and info.is_running():
                if info.socket_dir is None:
                    raise EmbeddedError(f"el PostgreSQL de {self.pgdata} está en marcha sin "
                                        "socket Unix; deténgalo y vuelva a intentar")
                check_private(info.socket_dir, uid)
                if self._auth_changed:
                    pg_ctl(["reload"], pgdata=self.pgdata, user=self.system_user)
                self._postmaster_info = info
                return
            socket_dir = socket_dir_for(self.pgdata)
            _make_private(socket_dir, uid)
            self._postmaster_info = _start(pg_ctl, PostmasterInfo, self.pgdata, self.log,
                                           socket_dir, self.system_user)

    return PrivateServer


def _start(pg_ctl: Any, postmaster_info: Any, pgdata: Path, log_file: Path,
           socket_dir: Path, system_user: str | None) -> Any:
    """Start the server on ``socket_dir`` only; its postmaster info once ready."""
    # pg_ctl hands -o to a shell: every piece quoted.
    options = shlex.join(["-h", "", "-k", str(socket_dir),
                          "-c", "unix_socket_permissions=0700"])
    try:
        pg_ctl(["-w", "-t", str(START_SECONDS), "-o", options, "-l", str(log_file),
                "start"], pgdata=pgdata, user=system_user, timeout=START_SECONDS + 10)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        raise EmbeddedError(f"no arrancó el PostgreSQL integrado de {pgdata} ({exc}); su "
                            f"registro dice:\n{tail}") from None
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        info = postmaster_info.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return info
        time.sleep(0.2)
    raise EmbeddedError(f"el PostgreSQL integrado de {pgdata} no quedó listo en "
                        f"{START_SECONDS} s; vea {log_file}")
