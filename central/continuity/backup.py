"""Backups of the central with PostgreSQL's own tools, and restore to a point in time
(docs/continuidad.md).

A backup directory holds::

    base/<AAAAMMDDTHHMMSSZ>/base.tar.gz                  pg_basebackup -Ft -z -X fetch
    base/<…>/LISTO                                         written last: the copy is whole
    wal/                                                   pg_receivewal (continuous)
    identidad/                                             node id, key, TLS (0600)
    blobs/ab/cdef…                                         the images, by SHA-256
    ancla/bitacora*.jsonl                                  the audit chain's head and
                                                           revocations (central.audit.ancla)

- :func:`base_backup` takes a base backup and copies the identity and the blobs not yet
  copied (content-addressed: a copied blob never changes; each is re-hashed).
- :func:`receive_wal` runs ``pg_receivewal`` on a replication slot of its own (the
  primary keeps the WAL it has not received yet, bounded like the standby's), flushing
  every segment as it arrives, so the archive holds every committed transaction up to
  the last second.
- :func:`copy_ancla` copies the data directory's anchor (:mod:`central.audit.ancla`) with the
  base backup and, with ``--continuo``, with the images: a revocation made after the
  base backup is known to a restore from it.
- :func:`restore` makes a new data directory from the newest base backup taken before
  the point asked for, replays the archived WAL up to that point
  (``recovery_target_time``; without one, to the end of the archive) and promotes it.

Stations keep every record until the central receipts it and ask the central's cursor
now and then (:meth:`prep.station.sync.SyncAgent._maybe_check_cursor`): whatever a
restore to an earlier point lost, they send again, signed as before.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import shutil
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from central.continuity.replication import ContinuityError
from central.continuity.replication import _bin
from central.continuity.replication import _copy_identity
from central.continuity.replication import server_account
from central.node.config import DataDir
from prep.durable import write_private

BACKUP_SLOT = "prep_respaldo"
DONE_MARK = "LISTO"
STAMP = "%Y%m%dT%H%M%SZ"
RECOVERY_SECONDS = 1800


@dataclass(frozen=True)
class BackupDir:
    """Paths inside a backup directory."""

    root: Path

    @property
    def bases(self) -> Path:
        return self.root / "base"

    @property
    def wal(self) -> Path:
        return self.root / "wal"

    @property
    def identity(self) -> DataDir:
        return DataDir(self.root / "identidad")

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def ancla(self) -> Path:
        return self.root / "ancla"


@dataclass(frozen=True)
class BaseTaken:
    path: Path
    started_at: datetime
    seconds: float
    bytes: int
    blobs_copied: int


def base_backup(conninfo: str, source: DataDir, backup: BackupDir) -> BaseTaken:
    """A base backup of the server at ``conninfo`` (a replication connection) into
    ``backup``, with ``source``'s identity and blobs."""
    for directory in (backup.root, backup.bases, backup.wal, backup.blobs):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = datetime.now(UTC).replace(microsecond=0)
    target = backup.bases / started.strftime(STAMP)
    partial = target.with_name(target.name + ".parcial")
    shutil.rmtree(partial, ignore_errors=True)
    clock = time.monotonic()
    _run([str(_bin(None) / "pg_basebackup"), "-D", str(partial), "-Ft", "-z", "-X", "fetch",
          "-c", "fast", "--no-password", "-d", conninfo], "pg_basebackup")
    write_private(partial / DONE_MARK, started.isoformat().encode())
    os.replace(partial, target)
    _copy_identity(source, backup.identity)
    copied = copy_blobs(source.blobs, backup.blobs)
    copy_ancla(source.ancla, backup.ancla)
    size = sum(p.stat().st_size for p in target.iterdir())
    return BaseTaken(target, started, time.monotonic() - clock, size, copied)


def receive_wal(conninfo: str, backup: BackupDir) -> subprocess.Popen[bytes]:
    """Start ``pg_receivewal`` into ``backup``'s archive on its own slot (made if
    missing); the caller stops it (SIGTERM) when the night ends."""
    backup.wal.mkdir(mode=0o700, parents=True, exist_ok=True)
    receive = str(_bin(None) / "pg_receivewal")
    _run([receive, "--create-slot", "--if-not-exists", "-S", BACKUP_SLOT, "--no-password",
          "-d", conninfo], "pg_receivewal --create-slot")
    with (backup.root / "pg_receivewal.log").open("ab") as log:
        return subprocess.Popen([receive, "-D", str(backup.wal), "-S", BACKUP_SLOT,
                                 "--synchronous", "--no-loop", "--no-password", "-d",
                                 conninfo], stdout=log, stderr=log)


def copy_blobs(source: Path, target: Path) -> int:
    """Copy the blobs of ``source`` that ``target`` lacks, each re-hashed; how many."""
    copied = 0
    for prefix in sorted(p for p in source.iterdir() if len(p.name) == 2 and p.is_dir()):
        for blob in sorted(prefix.iterdir()):
            final = target / prefix.name / blob.name
            if final.exists():
                continue
            data = blob.read_bytes()
            if hashlib.sha256(data).hexdigest() != prefix.name + blob.name:
                raise ContinuityError(f"la imagen {blob} no corresponde a su SHA-256: no se "
                                      "respaldó; revise el disco del nodo central")
            final.parent.mkdir(mode=0o700, exist_ok=True)
            write_private(final, data)
            copied += 1
    return copied


def copy_ancla(source: Path, target: Path) -> int:
    """Copy the anchor's files of ``source`` into ``target``, each unless ``target``
    has it already whole (the files only grow: the longer copy holds the shorter);
    how many were copied."""
    if not source.is_dir():
        return 0
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    copied = 0
    for path in sorted(source.glob("bitacora*.jsonl")):
        final = target / path.name
        data = path.read_bytes()
        if final.exists() and final.stat().st_size >= len(data):
            continue
        partial = final.with_name(f".{final.name}.parcial")
        partial.unlink(missing_ok=True)
        write_private(partial, data)
        os.replace(partial, final)
        copied += 1
    return copied


def restore(backup: BackupDir, target: DataDir, until: datetime | None,
            anclas: Sequence[Path] = ()) -> Path:
    """Make ``target`` a central restored from ``backup`` as of ``until`` (None: the end
    of the archive); the base backup used. The server is left stopped, promoted.
    The backup's anchor, and those of ``anclas`` (e.g. the lost node's data directory,
    if its disk survived), go into ``target``'s: what ``restore`` and ``serve`` compare
    the restored database with."""
    if (target.pgdata / "PG_VERSION").exists():
        raise ContinuityError(f"{target.pgdata} ya contiene una base de datos; restaure en "
                              "un directorio de datos nuevo")
    base = _base_before(backup, until)
    _copy_identity(backup.identity, target)
    copy_blobs(backup.blobs, target.blobs)
    for source in (backup.ancla, *anclas):
        copy_ancla(source, target.ancla)
    partial = target.pgdata.with_name(target.pgdata.name + ".parcial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    with tarfile.open(base / "base.tar.gz") as tar:
        tar.extractall(partial, filter="data")
    if (base / "pg_wal.tar.gz").exists():  # -X stream; -X fetch puts it in base.tar
        with tarfile.open(base / "pg_wal.tar.gz") as tar:
            tar.extractall(partial / "pg_wal", filter="data")
    for leftover in (".s.PGSQL.5432.lock", ".handle_pids.json", "log", "standby.signal"):
        (partial / leftover).unlink(missing_ok=True)
    wal = _stage_wal(backup, target)
    archive = shlex.quote(str(wal.resolve()))
    settings = [f"restore_command = '{_conf(f'cp {archive}/%f %p')}'",
                "recovery_target_action = 'promote'", "primary_conninfo = ''",
                "synchronous_standby_names = ''"]
    if until is not None:
        settings.append(f"recovery_target_time = '{until.astimezone(UTC).isoformat()}'")
    with (partial / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# prep central restore\n" + "\n".join(settings) + "\n")
    (partial / "recovery.signal").write_bytes(b"")
    account = server_account()
    if account is not None:
        entry = pwd.getpwnam(account)
        for path in [partial, *partial.rglob("*"), wal, *wal.iterdir()]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(partial)
    os.replace(partial, target.pgdata)
    _recover(target)
    shutil.rmtree(wal)
    return base


def _stage_wal(backup: BackupDir, target: DataDir) -> Path:
    """The archived WAL, copied where the server's account reads it (the backup stays
    private to its owner); the segment pg_receivewal was still writing
    (``….partial``) under its own name, unless the whole one is there too."""
    wal = target.root / "wal-recuperacion"
    shutil.rmtree(wal, ignore_errors=True)
    wal.mkdir(mode=0o700)
    for segment in sorted(backup.wal.iterdir()):
        name = segment.name.removesuffix(".partial")
        if len(name) != 24 and not name.endswith(".history"):
            continue
        if segment.name.endswith(".partial") and (backup.wal / name).exists():
            continue
        shutil.copyfile(segment, wal / name)
    return wal


def _recover(target: DataDir) -> None:
    """Start the restored server, wait until recovery ends (promoted), stop it."""
    from central.db.embedded import start_server

    server = start_server(target.pgdata)
    try:
        dsn = server.get_uri("postgres")
        deadline = time.monotonic() + RECOVERY_SECONDS
        while True:
            with psycopg.connect(dsn, autocommit=True) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                break
            if time.monotonic() > deadline:
                raise ContinuityError(f"la recuperación no terminó en {RECOVERY_SECONDS} s; "
                                      f"vea {target.pgdata / 'log'}")
            time.sleep(0.2)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for setting in ("restore_command", "recovery_target_time",
                            "recovery_target_action"):
                conn.execute(f"ALTER SYSTEM RESET {setting}")
    finally:
        server.cleanup()


def _base_before(backup: BackupDir, until: datetime | None) -> Path:
    bases = sorted((p for p in backup.bases.glob("*") if (p / DONE_MARK).exists()),
                   key=lambda p: p.name)
    if until is not None:
        bases = [p for p in bases
                 if datetime.strptime(p.name, STAMP).replace(tzinfo=UTC) <= until]
    if not bases:
        when = "" if until is None else f" antes de {until.isoformat()}"
        raise ContinuityError(f"no hay una copia base completa{when} en {backup.bases}")
    return bases[-1]


def embedded_replication(source: DataDir) -> str:
    """A replication connection to ``source``'s embedded server (started if needed)."""
    from central.db.embedded import start_server

    server = start_server(source.pgdata)
    socket_dir = server.get_postmaster_info().socket_dir
    return make_conninfo(host=str(socket_dir), user="postgres", dbname="postgres",
                         application_name=BACKUP_SLOT)


def _conf(text: str) -> str:
    """``text`` inside a single-quoted postgresql.conf value."""
    return text.replace("\\", "\\\\").replace("'", "''")


def _run(command: list[str], what: str) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True,
                       timeout=RECOVERY_SECONDS)
    except subprocess.CalledProcessError as exc:
        raise ContinuityError(f"{what} falló: {(exc.stderr or '').strip()[-600:]}") from None
    except subprocess.TimeoutExpired:
        raise ContinuityError(f"{what} no terminó en {RECOVERY_SECONDS} s") from None
