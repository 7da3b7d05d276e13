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

A server that died without stopping (its postmaster killed: the kernel's OOM killer, a
``kill -9``) leaves its ``postmaster.pid`` behind, and for a moment its orphaned
backends, still attached to its shared memory, and the postmaster itself as a zombie
until it is reaped. The next start waits for those processes to end (saying so, in
Spanish), ends any still there after :data:`ORPHAN_GRACE_SECONDS` (they can do nothing
useful without their postmaster, and a new server must not share the data with them),
then removes the stale lock file and starts the server, which recovers from its WAL.

pgserver counts the processes using a server in ``.handle_pids.json`` and stops it when
the last one leaves; a process that was killed never takes its pid out, so the server
would never be stopped again. Pids of processes that no longer exist are dropped at
every start and stop (:func:`prune_handles`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shlex
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from prep.background import BackgroundLoop

log = logging.getLogger("central.db")

OWNER_ROLE = "postgres"
#: ``sun_path`` holds 108 bytes with its NUL; PostgreSQL refuses longer socket paths.
MAX_SOCKET_PATH = 107
SOCKET_NAME = ".s.PGSQL.5432"
IDENT_MAP = "prep_duenos"
START_SECONDS = 60
#: How long a dead server's orphaned backends get to end by themselves before the next
#: start ends them (they notice their postmaster's death within a second when idle).
ORPHAN_GRACE_SECONDS = 10.0
#: How long a start waits for the dead postmaster to be reaped (a zombie keeps its pid,
#: which the new postmaster would take for a live one).
REAP_SECONDS = 30.0
#: How often ``serve`` checks that its embedded server is alive (:class:`Watchdog`).
WATCH_SECONDS = 2.0

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


class Watchdog(BackgroundLoop):
    """While ``serve`` runs on the embedded server, start it again whenever its postmaster
    dies (the OOM killer's pick, a ``kill -9``): ``serve`` outlives it, so nothing else
    would (systemd restarts ``serve`` only when ``serve`` itself ends). Checked every
    :data:`WATCH_SECONDS`; a failed start is logged and tried again."""

    def __init__(self, server: Any, every: float = WATCH_SECONDS) -> None:
        super().__init__("central-pg-vigia", join_seconds=None)
        self.server = server
        self.every = every

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            started = time.monotonic()
            try:
                revived = self.server.revive()
            except Exception as exc:  # logged; the next check tries again
                log.error("no se pudo arrancar de nuevo el PostgreSQL integrado de %s (%s); "
                          "se reintenta en %.0f s", self.server.pgdata, exc, self.every)
                continue
            if revived:
                log.warning("PostgreSQL integrado de %s de nuevo en marcha (%.1f s); el "
                            "nodo central sigue atendiendo", self.server.pgdata,
                            time.monotonic() - started)


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


#: How long a half-written ``postmaster.pid`` is waited for before it counts as no server.
LOCK_FILE_SETTLE_SECONDS = 5.0


def read_postmaster_info(postmaster_info: Any, pgdata: Path,
                         settle: float = LOCK_FILE_SETTLE_SECONDS) -> Any:
    """pgserver's ``PostmasterInfo`` of ``pgdata``, or None without a lock file.

    A postmaster writes ``postmaster.pid`` line by line as it starts (status last), and
    removes it as it stops; pgserver's parser asserts on the short file and a read can
    race the removal. Another process starting the same server (a second ``serve``, the
    watchdog of one, the soak's restart) is seen in exactly that moment, so an incomplete
    file is read again until it is whole, for up to ``settle`` seconds; one still
    incomplete then (a postmaster that died starting) counts as no server."""
    deadline = time.monotonic() + settle
    while True:
        try:
            return postmaster_info.read_from_pgdata(pgdata)
        except (AssertionError, ValueError, OSError):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


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
            # Under pgserver's lock, before this process adds its own pid.
            prune_handles(self.pgdata)
            super().ensure_pgdata_inited()  # initdb if new; its trust lines go below
            _check_account(self.pgdata)
            self._auth_changed = _write_auth(self.pgdata)

        def _cleanup(self) -> None:
            with self._lock:
                prune_handles(self.pgdata)
            super()._cleanup()  # stops the server if this process is the last one

        def revive(self) -> bool:
            """Start the server again if its postmaster died (while this process used
            it); whether it had to."""
            with self._lock:
                if dead_postmaster(self.pgdata) is None \
                        and (self.pgdata / "postmaster.pid").exists():
                    self._postmaster_info = read_postmaster_info(PostmasterInfo, self.pgdata)
                    return False
                self.ensure_postgres_running()
                return True

        def ensure_postgres_running(self) -> None:
            uid = self.pgdata.stat().st_uid
            if (dead := dead_postmaster(self.pgdata)) is not None:
                clear_dead_server(self.pgdata, dead)  # it died without stopping
            # None, or a live server (maybe one another process started meanwhile).
            info = read_postmaster_info(PostmasterInfo, self.pgdata)
            if info is not None and postmaster_alive(info.pid, self.pgdata):
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
        info = read_postmaster_info(postmaster_info, pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return info
        time.sleep(0.2)
    raise EmbeddedError(f"el PostgreSQL integrado de {pgdata} no quedó listo en "
                        f"{START_SECONDS} s; vea {log_file}")


# A server that died --------------------------------------------------------------------

def postmaster_alive(pid: int, pgdata: Path) -> bool:
    """Whether ``pid`` is a live (not zombie) PostgreSQL process of ``pgdata``."""
    return _state(pid) not in (None, "Z", "X") and _of_pgdata(pid, pgdata) is not False


def dead_postmaster(pgdata: Path) -> int | None:
    """The pid in ``pgdata``'s lock file when it is no live server's (a server that died
    without stopping; 0: a lock file it left unfinished); None: no lock file, or a live
    server's."""
    try:
        pid = _lock_pid(pgdata / "postmaster.pid")
    except FileNotFoundError:
        return None
    if pid is None:
        return 0
    return None if postmaster_alive(pid, pgdata) else pid


def clear_dead_server(pgdata: Path, postmaster: int) -> None:
    """Make ``pgdata`` startable after its postmaster ``postmaster`` died: wait for it to
    be reaped and for its orphaned backends to end (ending them after
    :data:`ORPHAN_GRACE_SECONDS`), then remove its lock file ``postmaster.pid``. Returns
    early if another process starts a new server meanwhile (its processes are not
    orphans: they belong to the postmaster the lock file then names).

    Raises :class:`EmbeddedError` if the orphans do not go away."""
    started = time.monotonic()
    orphans = _orphans(pgdata, postmaster)
    zombie = _state(postmaster) in ("Z", "X")
    log.warning("el PostgreSQL integrado de %s terminó sin detenerse (%s%s); se arranca "
                "de nuevo y recupera sus datos de su bitácora (WAL)", pgdata,
                f"su proceso principal {postmaster} ya no existe" if postmaster
                else "dejó incompleto su postmaster.pid",
                f"; se espera a que terminen los procesos que dejó: {len(orphans)}"
                if orphans else "")
    deadline = started + ORPHAN_GRACE_SECONDS
    while orphans and time.monotonic() < deadline:
        time.sleep(0.1)
        orphans = _orphans(pgdata, postmaster)
    if orphans:
        log.warning("procesos del PostgreSQL anterior de %s que siguen en marcha tras "
                    "%.0f s: %d; se terminan (kill) para arrancarlo de nuevo", pgdata,
                    ORPHAN_GRACE_SECONDS, len(orphans))
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + REAP_SECONDS
    while ((orphans := _orphans(pgdata, postmaster)) or _state(postmaster) in ("Z", "X")) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    if orphans:
        raise EmbeddedError(f"no terminaron los procesos {', '.join(map(str, orphans))} del "
                            f"PostgreSQL anterior de {pgdata}; termínelos (o reinicie el "
                            "equipo) y vuelva a intentar")
    # The lock file names a dead postmaster (or, once reaped, maybe an unrelated process
    # that got its pid): with no process of the old server left, it is stale.
    lock = pgdata / "postmaster.pid"
    with contextlib.suppress(FileNotFoundError):
        if dead_postmaster(pgdata) == postmaster:
            lock.unlink()
    if zombie or time.monotonic() - started > 1:
        log.info("los procesos del PostgreSQL anterior de %s terminaron en %.1f s", pgdata,
                 time.monotonic() - started)


def _orphans(pgdata: Path, dead: int) -> list[int]:
    """The processes of ``pgdata`` left by its dead postmaster ``dead``: none of a new
    server someone else started meanwhile (its postmaster, and the children it has)."""
    with contextlib.suppress(FileNotFoundError):
        new = _lock_pid(pgdata / "postmaster.pid")
        if new is not None and new != dead and postmaster_alive(new, pgdata):
            return []
    return leftover_processes(pgdata)


def leftover_processes(pgdata: Path) -> list[int]:
    """Live PostgreSQL processes working in ``pgdata`` (their working directory), zombies
    aside: a dead server's orphaned backends, or a live server's processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (pid := int(entry.name)) != os.getpid() \
                and _state(pid) not in (None, "Z", "X") and _of_pgdata(pid, pgdata):
            found.append(pid)
    return found


def prune_handles(pgdata: Path) -> list[int]:
    """Drop from pgserver's ``.handle_pids.json`` the pids of processes that no longer
    exist (killed users of the server); the pids kept."""
    path = pgdata / ".handle_pids.json"
    try:
        pids = [int(pid) for pid in json.loads(path.read_text(encoding="ascii"))]
    except (FileNotFoundError, ValueError, TypeError):
        return []
    alive = [pid for pid in pids if _state(pid) not in (None, "Z", "X")]
    if alive != pids:
        log.info("PostgreSQL integrado de %s: se olvidan los procesos %s, que terminaron "
                 "sin soltarlo", pgdata, sorted(set(pids) - set(alive)))
        path.write_text(json.dumps(alive), encoding="ascii")
    return alive


def _state(pid: int) -> str | None:
    """The kernel's one-letter state of process ``pid`` (``Z``: a zombie); None: none."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat_line.rsplit(")", 1)[-1].split()
    return fields[0] if fields else None


def _of_pgdata(pid: int, pgdata: Path) -> bool | None:
    """Whether ``pid`` is a PostgreSQL process working in ``pgdata`` (every server
    process changes into its data directory); None: not allowed to tell."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace")
        if not comm.startswith("postgres"):
            return False
        return Path(os.readlink(f"/proc/{pid}/cwd")) == pgdata
    except PermissionError:
        return None
    except OSError:
        return False


def _lock_pid(lock: Path) -> int | None:
    """The pid on the first line of ``lock``; None if it has none (a server killed while
    writing it). FileNotFoundError if there is no lock file."""
    try:
        return int(lock.read_text(encoding="ascii", errors="replace").split("\n", 1)[0])
    except ValueError:
        return None
