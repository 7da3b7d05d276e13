"""A hot standby of the central's PostgreSQL by streaming replication, synchronous commit
to it, and its promotion (docs/continuidad.md).

Everything here is PostgreSQL's own machinery, driven with its own tools:

- :func:`init_standby` copies the primary with ``pg_basebackup -X stream -R -C -S``: a
  physical replication slot on the primary keeps the WAL the standby has not yet
  received (bounded by :data:`MAX_SLOT_WAL_KEEP`, so a standby gone for good cannot fill
  the primary's disk), and ``standby.signal`` + ``primary_conninfo`` make the copy a
  hot standby that streams from then on. The central's identity (node id, Ed25519 key
  that signs receipts, bundles and manifests, TLS certificate) is the institute's, not
  the machine's: it is copied into the standby's data directory (0600) at the same time.
- :func:`set_mode` names the standby in ``synchronous_standby_names`` (``FIRST 1``):
  from then on every COMMIT on the primary, a batch's receipt included, returns only
  once the standby has flushed its WAL, so a receipted batch is on two machines. While
  the standby is down such a COMMIT waits; the coordinator chooses to wait or to go on
  asynchronously (``prep central standby asincrono --motivo``), an audited decision.
- :func:`promote` turns the standby into the primary (``pg_promote``): PostgreSQL starts
  a new timeline, so WAL the old primary writes afterwards can never be replayed here,
  and the old primary must be rebuilt as a standby (or rewound with ``pg_rewind``) before
  it serves again.

The embedded server (``pgserver``) listens only on its private Unix socket, so a
standby of an embedded primary lives on the same machine (the drill, a second disk);
between machines the primary is an institute's PostgreSQL reached by a DSN with a
replication role, and :func:`init_standby` takes that DSN the same way.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.conninfo import make_conninfo

from central.node.config import DataDir
from prep.durable import write_private

#: The standby's ``application_name`` and replication slot when none is given.
STANDBY_NAME = "prep_standby"
#: WAL a replication slot may hold for an absent standby before PostgreSQL drops it
#: (the standby then needs a new ``standby init``); election night writes a few GB.
MAX_SLOT_WAL_KEEP = "16GB"
#: How long ``pg_basebackup`` and the first streaming may take.
BASEBACKUP_SECONDS = 1800
STREAMING_SECONDS = 60
PROMOTE_SECONDS = 60
#: Files of a running embedded server that ``pg_basebackup`` copies but a new server must
#: not find: the socket's lock (it would refuse to start), pgserver's handle list and log.
RUNTIME_FILES = (".s.PGSQL.5432.lock", ".handle_pids.json", "log")
SERVER_ACCOUNT_AS_ROOT = "pgserver"  # the account pgserver runs PostgreSQL under as root


class ContinuityError(RuntimeError):
    """A replication step cannot be done; the message says why and what to do (Spanish)."""


@dataclass(frozen=True)
class Replica:
    """A standby connected to this server (a row of ``pg_stat_replication``)."""

    name: str
    state: str  # startup, catchup, streaming...
    sync_state: str  # sync, async, potential, quorum
    flush_lag_s: float | None


@dataclass(frozen=True)
class Status:
    """Where this server stands: primary or standby, its timeline, and its standbys."""

    standby: bool  # in recovery: a read-only hot standby
    timeline: int
    synchronous_standby_names: str
    replicas: tuple[Replica, ...]

    @property
    def modo(self) -> str:
        """``sincrono`` (commits wait for the named standby), ``asincrono`` (a standby
        streams but commits do not wait) or ``sin_standby``."""
        if self.synchronous_standby_names:
            return "sincrono"
        return "asincrono" if self.replicas else "sin_standby"


def server_account() -> str | None:
    """The system account PostgreSQL's files belong to (``pgserver`` as root, as the
    embedded server runs it; None: this account)."""
    return SERVER_ACCOUNT_AS_ROOT if os.geteuid() == 0 else None


def embedded_conninfo(primary: DataDir, name: str = STANDBY_NAME) -> str:
    """The replication connection to ``primary``'s embedded server (started if needed,
    as another process of the node would): its private socket, the owner role, which
    its ``pg_hba.conf`` lets in for replication only from the data's own account."""
    from central.db.embedded import start_server

    server = start_server(primary.pgdata)
    socket_dir = server.get_postmaster_info().socket_dir
    return make_conninfo(host=str(socket_dir), user="postgres", dbname="postgres",
                         application_name=name)


def init_standby(primary_conninfo: str, identity_from: DataDir | None, standby: DataDir,
                 name: str = STANDBY_NAME, bin_dir: Path | None = None) -> None:
    """Make ``standby``'s data directory a hot standby of the server at
    ``primary_conninfo``, with the central's identity copied from ``identity_from`` (the
    primary's data directory; None when it was already installed in ``standby`` by
    hand from the institute's sealed copy).

    Refuses a data directory that already holds a database. The standby is not started
    here (``prep central serve`` or :func:`central.db.embedded.start_server` does).
    """
    if (standby.pgdata / "PG_VERSION").exists():
        raise ContinuityError(f"{standby.pgdata} ya contiene una base de datos; para "
                              "rehacer el standby, muévala a otro lugar primero")
    _quoted_name(name)
    _copy_identity(identity_from, standby)
    target = standby.pgdata
    partial = target.with_name(target.name + ".parcial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    account = server_account()
    if account is not None:
        entry = pwd.getpwnam(account)
        os.chown(partial, entry.pw_uid, entry.pw_gid)
        # As pgserver does for the primary: the server's account must reach its data
        # (the directories above it become traversable; every file in them stays 0600).
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(partial)
    conninfo = make_conninfo(primary_conninfo, application_name=name)
    command = [str(_bin(bin_dir) / "pg_basebackup"), "-D", str(partial), "-X", "stream",
               "-R", "-C", "-S", name, "-c", "fast", "--no-password", "-d", conninfo]
    _drop_slot_if_idle(primary_conninfo, name)
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, user=account,
                       timeout=BASEBACKUP_SECONDS)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ContinuityError("pg_basebackup no pudo copiar el primario: "
                              f"{(exc.stderr or '').strip()[-600:]}") from None
    except subprocess.TimeoutExpired:
        shutil.rmtree(partial, ignore_errors=True)
        raise ContinuityError(f"pg_basebackup no terminó en {BASEBACKUP_SECONDS} s") from None
    for leftover in RUNTIME_FILES:
        (partial / leftover).unlink(missing_ok=True)
    os.replace(partial, target)


def wait_streaming(primary_dsn: str, name: str = STANDBY_NAME,
                   seconds: float = STREAMING_SECONDS) -> Replica:
    """Wait until standby ``name`` streams from the primary at ``primary_dsn``."""
    deadline = time.monotonic() + seconds
    while True:
        for replica in status(primary_dsn).replicas:
            if replica.name == name and replica.state == "streaming":
                return replica
        if time.monotonic() > deadline:
            raise ContinuityError(f"el standby «{name}» no se conectó al primario en "
                                  f"{seconds:.0f} s; revise que esté en marcha y su registro")
        time.sleep(0.2)


def set_mode(primary_dsn: str, sincrono: bool, name: str = STANDBY_NAME) -> None:
    """Make every commit wait for standby ``name`` (``sincrono``) or not.

    ``ALTER SYSTEM`` + reload: it holds across restarts of the primary, and sessions
    already open follow it at their next transaction.
    """
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        if sincrono:
            value = f"FIRST 1 ({_quoted_name(name)})"
            conn.execute(sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}")
                         .format(sql.Literal(value)))
            conn.execute(sql.SQL("ALTER SYSTEM SET max_slot_wal_keep_size = {}")
                         .format(sql.Literal(MAX_SLOT_WAL_KEEP)))
        else:
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        conn.execute("SELECT pg_reload_conf()")
    _wait_setting(primary_dsn, "synchronous_standby_names",
                  lambda value: bool(value) == sincrono)


def promote(standby_dsn: str) -> int:
    """Promote the hot standby at ``standby_dsn`` to primary; its new timeline.

    Its own commits then wait for no one (``synchronous_standby_names`` reset): the
    standby it had is the primary that was lost. A new standby is made with
    :func:`init_standby` from it.
    """
    with psycopg.connect(standby_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if row is None or not row[0]:
            raise ContinuityError("este servidor ya es primario (no es un standby); no hay "
                                  "nada que promover")
        conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        conn.execute("ALTER SYSTEM RESET primary_conninfo")
        conn.execute("SELECT pg_reload_conf()")
        promoted = conn.execute("SELECT pg_promote(true, %s)", (PROMOTE_SECONDS,)).fetchone()
        if promoted is None or not promoted[0]:
            raise ContinuityError(f"PostgreSQL no terminó la promoción en {PROMOTE_SECONDS} "
                                  "s; vea el registro del servidor")
    return status(standby_dsn).timeline


def status(dsn: str) -> Status:
    """The replication state of the server at ``dsn``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_is_in_recovery(), "
                           "current_setting('synchronous_standby_names')").fetchone()
        assert row is not None
        in_recovery, names = bool(row[0]), str(row[1])
        replicas = tuple(
            Replica(str(r[0]), str(r[1]), str(r[2]),
                    None if r[3] is None else float(r[3]))
            for r in conn.execute(
                "SELECT application_name, state, sync_state, "
                "extract(epoch FROM flush_lag) FROM pg_stat_replication "
                "ORDER BY application_name").fetchall())
        return Status(in_recovery, _timeline(conn, in_recovery), names, replicas)


def _timeline(conn: psycopg.Connection[tuple[object, ...]], in_recovery: bool) -> int:
    if in_recovery:
        row = conn.execute("SELECT received_tli FROM pg_stat_wal_receiver").fetchone()
        if row is not None and row[0] is not None:
            return int(str(row[0]))
        row = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()
    else:
        row = conn.execute("SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), "
                           "1, 8))::bit(32)::int").fetchone()
    assert row is not None
    return int(str(row[0]))


def _copy_identity(source: DataDir | None, standby: DataDir) -> None:
    """The node id, signing key and TLS certificate of ``source`` into ``standby``
    (0600 each, parents 0700); what ``standby`` already holds must be the same."""
    for directory in (standby.root, standby.cert.parent, standby.blobs):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = (("settings", standby.settings), ("key", standby.key), ("cert", standby.cert),
             ("tls_key", standby.tls_key))
    if source is None:
        missing = [path.name for _, path in files if not path.exists()]
        if missing:
            raise ContinuityError(f"al standby le falta la identidad del nodo central "
                                  f"({', '.join(missing)}); cópiela del primario o use "
                                  "--primario-datos")
        return
    for attribute, target in files:
        origin = getattr(source, attribute)
        if not origin.exists():
            raise ContinuityError(f"{origin} no existe: el directorio {source.root} no es "
                                  "el de un nodo central inicializado")
        content = origin.read_bytes()
        if target.exists():
            if target.read_bytes() != content:
                raise ContinuityError(f"{target} ya existe y es distinto del primario: este "
                                      "directorio es de otro nodo central")
            continue
        write_private(target, content)


def _drop_slot_if_idle(primary_conninfo: str, name: str) -> None:
    """A slot of this name left by an earlier standby that is gone (no one streams from
    it) is dropped, so the new copy can make its own; an active one is refused."""
    params = conninfo_to_dict(primary_conninfo)
    params.pop("replication", None)
    with psycopg.connect(make_conninfo("", **params), autocommit=True) as conn:
        row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                           (name,)).fetchone()
        if row is None:
            return
        if row[0]:
            raise ContinuityError(f"el standby «{name}» está conectado al primario; "
                                  "use otro nombre (--nombre) o detenga ese standby")
        conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))


def _wait_setting(dsn: str, setting: str, ok: Callable[[str], bool]) -> None:
    deadline = time.monotonic() + 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
            if row is not None and ok(str(row[0])):
                return
            if time.monotonic() > deadline:
                raise ContinuityError(f"PostgreSQL no aplicó {setting} en 10 s")
            time.sleep(0.05)


def _quoted_name(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii() or len(name) > 63:
        raise ContinuityError(f"nombre de standby no válido: «{name}» (letras, dígitos y _)")
    return f'"{name}"'


def _bin(bin_dir: Path | None) -> Path:
    if bin_dir is not None:
        return bin_dir
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)
