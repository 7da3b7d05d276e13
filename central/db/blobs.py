"""Content-addressed storage of image blobs: ``blobs/ab/cdef…`` by SHA-256.

An upload is streamed to a temporary file while being re-hashed and counted; only a
complete file whose hash is the one announced, and that is a whole image of an accepted
type and nothing more (:func:`prep.image_check.verify_image`, the check the stations'
hot folder makes too: every stored blob is published as an acta's image), is fsynced
and linked into place, so a stored blob is always whole and correct, and an existing
blob is never rewritten.

A process killed while receiving leaves its partial file in ``tmp/`` (up to
:data:`~prep.protocol.MAX_BLOB_BYTES` each). Temporary names start with the writing
process's pid and a short hash of the machine's name, so :meth:`BlobStore.clean_tmp`
(whenever a store opens: ``serve``, the intake; and when ``serve`` stops) removes
exactly those of processes of this machine that no longer exist, and never a file
another live process (another ``serve`` sharing the directory) is writing. A name it
cannot judge (another machine's, an older form) goes once untouched for
:data:`STALE_TMP_SECONDS`: no upload lasts that long without writing (``serve`` drops
a body silent for 30 s).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import text

from central.db.engine import database_unreachable
from prep.durable import fsync_dir
from prep.durable import write_synced
from prep.image_check import ImageRejected
from prep.image_check import sniff_media_type
from prep.image_check import verify_image
from prep.protocol import MAX_BLOB_BYTES

log = logging.getLogger("central.blobs")

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: A temporary file or directory's name: writer's pid, machine, first digits of the blob.
_TEMP_NAME = re.compile(r"(\d+)\.([0-9a-f]{8})\.")
#: Age (since last written) past which any temporary file is abandoned.
STALE_TMP_SECONDS = 3600.0
_MACHINE = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


class BlobTooLarge(ValueError):
    """More bytes than :data:`prep.protocol.MAX_BLOB_BYTES`."""


class HashMismatch(ValueError):
    """The bytes received do not hash to the announced SHA-256."""

    def __init__(self, expected: str, actual: str, size: int) -> None:
        super().__init__(f"expected {expected}, received {actual} ({size} bytes)")
        self.actual = actual
        self.size = size


class NotAnImage(ValueError):
    """The bytes are the announced ones but not a whole image of an accepted (and the
    declared) type: ``motivo`` and ``mensaje`` come from the shared image check."""

    def __init__(self, rejected: ImageRejected, size: int) -> None:
        super().__init__(rejected.mensaje)
        self.motivo = rejected.motivo
        self.mensaje = rejected.mensaje
        self.size = size


@dataclass(frozen=True)
class Stored:
    """Outcome of an upload: the blob's size and whether this upload wrote it."""

    bytes: int
    new: bool


def is_sha256(text: str) -> bool:
    return _SHA256.fullmatch(text) is not None


class BlobStore:
    """Image blobs under ``root``; temporary files in ``root/tmp`` (same file system, so
    the final link is atomic). With ``engine``, every blob received is also stored in
    PostgreSQL (``blob_contents``, revision 0018) before the upload is answered, so
    replication and backups carry it (docs/continuidad.md)."""

    def __init__(self, root: Path, max_bytes: int = MAX_BLOB_BYTES,
                 engine: Engine | None = None) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.engine = engine
        self._tmp = root / "tmp"
        self._tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.clean_tmp()

    def clean_tmp(self) -> int:
        """Remove the temporary files that no live process is writing (see the module's
        docstring); how many."""
        removed = 0
        now = time.time()
        for entry in self._tmp.iterdir():
            match = _TEMP_NAME.match(entry.name)
            try:
                dead_writer = (match is not None and match.group(2) == _MACHINE
                               and not _alive(int(match.group(1))))
                abandoned = dead_writer or now - entry.lstat().st_mtime > STALE_TMP_SECONDS
                if not abandoned:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except FileNotFoundError:  # its writer finished meanwhile
                continue
            removed += 1
        if removed:
            log.info("%d archivos temporales de imágenes abandonados (de procesos que "
                     "terminaron a medio recibir) borrados de %s", removed, self._tmp)
        return removed

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def media_type(self, sha256: str) -> str | None:
        """The image type a stored blob really is (from its first bytes), to compare
        with the type an image record declares; ``None`` if it is not stored."""
        try:
            with self.path(sha256).open("rb") as f:
                return sniff_media_type(f.read(16))
        except FileNotFoundError:
            return None

    async def receive(self, sha256: str, chunks: AsyncIterator[bytes],
                      declared: str | None = None) -> Stored:
        """Store the streamed bytes as blob ``sha256`` (``declared``: the image type the
        sender says it is, if it says).

        Raises :class:`BlobTooLarge` past the cap, :class:`HashMismatch` if the bytes
        are not the announced ones and :class:`NotAnImage` if they are no whole image
        (of the declared type); nothing is stored in any case.
        """
        final = self.path(sha256)
        if final.is_file():
            return Stored(final.stat().st_size, new=False)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=_temp_prefix(sha256))
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise BlobTooLarge(f"more than {self.max_bytes} bytes")
                    digest.update(chunk)
                    f.write(chunk)
                if digest.hexdigest() != sha256:
                    raise HashMismatch(sha256, digest.hexdigest(), size)
                f.flush()
                # One hand-over to a worker thread for the flush and the link (one per
                # image: tens of thousands a night, each a thread woken).
                # A descriptor of its own: should this request be cancelled meanwhile,
                # closing ``f`` cannot close (and a new file reuse) the one being flushed.
                new = await asyncio.get_running_loop().run_in_executor(
                    None, _check_and_settle, os.dup(f.fileno()), tmp, final, declared,
                    self.engine)
        finally:
            tmp.unlink(missing_ok=True)
        return Stored(size, new)


def _temp_prefix(sha256: str) -> str:
    return f"{os.getpid()}.{_MACHINE}.{sha256[:12]}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's
        pass
    return True


def _check_and_settle(fd: int, tmp: Path, final: Path, declared: str | None,
                      engine: Engine | None = None) -> bool:
    """Check the complete ``tmp`` (open as ``fd``, closed here) is an image, flush it to
    the disk, store it in PostgreSQL (with ``engine``), then link it in place unless an
    equal blob got there first."""
    try:
        # Read back what was written (from the page cache): a slow upload holds no
        # copy of itself in memory while it arrives.
        data = tmp.read_bytes()
        try:
            verify_image(data, declared=declared)
        except ImageRejected as exc:
            raise NotAnImage(exc, len(data)) from None
        os.fsync(fd)
    finally:
        os.close(fd)
    if engine is not None:
        store_contents(engine, final.parent.name + final.name, data)
    del data
    final.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    fsync_dir(final.parent)
    return True


def store_contents(engine: Engine, sha256: str, data: bytes) -> None:
    """``data`` as blob ``sha256`` in ``blob_contents`` (kept if already there); returns
    once committed, so, with a synchronous standby, once on two machines."""
    with engine.begin() as conn:
        conn.execute(_INSERT_CONTENT, {"sha256": sha256, "data": data})


_INSERT_CONTENT = text("INSERT INTO blob_contents (sha256, data) VALUES (:sha256, :data) "
                       "ON CONFLICT (sha256) DO NOTHING")


#: How often a reconciliation that found PostgreSQL unreachable tries again.
RECONCILE_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Reconciled:
    """What :func:`reconcile` did: files written back from PostgreSQL, rows stored from
    files the database lacked."""

    files_written: int
    rows_stored: int


def reconcile(engine: Engine, store: BlobStore) -> Reconciled:
    """Make ``blobs/`` and ``blob_contents`` hold the same blobs: a file the database
    holds but the disk lacks (a promoted standby, a restored node) is written back; a
    file the database lacks (accepted before revision 0018) is stored. Each file is
    checked against its SHA-256 first; a damaged one is neither copied nor kept quiet."""
    with engine.connect() as conn:
        in_db = {str(sha) for (sha,) in conn.execute(text("SELECT sha256 FROM blob_contents"))}
    on_disk: set[str] = set()
    for prefix in store.root.iterdir():
        if len(prefix.name) == 2 and prefix.is_dir():
            on_disk.update(prefix.name + p.name for p in prefix.iterdir() if p.is_file())
    written = 0
    for sha256 in sorted(in_db - on_disk):
        with engine.connect() as conn:
            data = conn.execute(text("SELECT data FROM blob_contents WHERE sha256 = :s"),
                                {"s": sha256}).scalar_one()
        _write_back(store, sha256, bytes(data))
        written += 1
    stored = 0
    for sha256 in sorted(on_disk - in_db):
        data = store.path(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            log.error("blob %s on disk does not match its SHA-256: not stored", sha256)
            continue
        store_contents(engine, sha256, data)
        stored += 1
    return Reconciled(written, stored)


def reconcile_when_reachable(engine: Engine, store: BlobStore,
                             retry_seconds: float = RECONCILE_RETRY_SECONDS,
                             stop: threading.Event | None = None) -> Reconciled | None:
    """:func:`reconcile`, tried again every ``retry_seconds`` while PostgreSQL cannot be
    reached (a ``serve`` that starts while its PostgreSQL restarts), which is said once,
    as a warning without a traceback; ``None`` if ``stop`` was set first. Any other
    error is raised."""
    stop = stop or threading.Event()
    said = False
    while True:
        try:
            return reconcile(engine, store)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            if not said:
                cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                log.warning("imágenes: PostgreSQL no está disponible para conciliarlas con "
                            "la base de datos (%s); se reintenta cada %g s",
                            cause[0] if cause else type(exc).__name__, retry_seconds)
                said = True
        if stop.wait(retry_seconds):
            return None


def _write_back(store: BlobStore, sha256: str, data: bytes) -> None:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"blob {sha256} in the database does not match its SHA-256")
    final = store.path(sha256)
    tmp = Path(tempfile.mkdtemp(dir=store.root / "tmp", prefix=_temp_prefix(sha256))) / "blob"
    try:
        write_synced(tmp, data)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return
        fsync_dir(final.parent)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.parent.rmdir()
