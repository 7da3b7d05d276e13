"""Writing files that must survive a power cut: the data, then the directory entry."""

from __future__ import annotations

import ctypes
import os
import tempfile
from pathlib import Path

from prep.libc import c_function

#: Linux's syncfs(2), or None where the C library has none.
_SYNCFS = c_function("syncfs")
#: Linux's sync_file_range(2), or None.
_SYNC_FILE_RANGE = c_function("sync_file_range", (ctypes.c_int, ctypes.c_int64,
                                                  ctypes.c_int64, ctypes.c_uint))
_SYNC_FILE_RANGE_WRITE = 2


def write_synced(path: Path | str, data: bytes) -> None:
    """Write ``path`` and flush it to the disk before returning."""
    with open(path, "wb") as f:  # a str path too: thousands per corte
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries: a new or renamed file is durable only then."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def start_writeback(fd: int) -> None:
    """Have the kernel start writing ``fd``'s data to the disk now, without waiting for
    it (Linux's ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, as PostgreSQL's
    ``backend_flush_after`` does), so that a later :func:`sync_tree` finds little left
    to write. It makes nothing durable: that is :func:`sync_tree`'s. Nothing elsewhere,
    and an error is ignored (the later flush raises what matters)."""
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


def soltar_cache(fd: int, inicio: int = 0, largo: int = 0) -> None:
    """Let the kernel drop from memory the cached pages of ``fd`` from ``inicio``
    (``largo`` bytes; 0: to the end) that are on the disk already
    (``posix_fadvise(POSIX_FADV_DONTNEED)``); nothing where the system has no such
    call. It changes no data: the file is read from the disk next time. An error is
    ignored (only memory was at stake)."""
    fadvise = getattr(os, "posix_fadvise", None)
    if fadvise is not None:
        try:
            fadvise(fd, inicio, largo, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


def soltar_archivo(path: str, largo: int = 0) -> None:
    """:func:`soltar_cache` of the file ``path`` from its start (``largo`` bytes; 0: all
    of it), if it can be opened (a link is not followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return
    try:
        soltar_cache(fd, 0, largo)
    finally:
        os.close(fd)


def sync_tree(fd: int, directory: Path) -> None:
    """Flush to the disk every file and directory written under ``directory`` (``fd``:
    a descriptor of it, opened before they were written).

    On Linux, one ``syncfs(2)`` of the file system holding it: the kernel writes every
    dirty page and commits the journal once, where an fsync per file commits it once per
    file (a national corte writes ten thousand files). As with fsync, a write-back error
    since ``fd`` was opened is raised (Linux 5.8 and later report them to syncfs; this
    is PostgreSQL's ``recovery_init_sync_method = syncfs``). Elsewhere, every file and
    then every directory is fsynced."""
    if _SYNCFS is not None:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs {directory}: {os.strerror(err)}")
        return
    for parent, _, files in os.walk(directory, topdown=False):
        for name in files:
            file_fd = os.open(os.path.join(parent, name), os.O_RDONLY)
            try:
                os.fsync(file_fd)
            finally:
                os.close(file_fd)
        fsync_dir(Path(parent))


def create_private(path: Path) -> int:
    """Create ``path`` readable by its owner only (mode 0600 whatever the umask), never
    over an existing file (``FileExistsError``); an open descriptor for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (see :func:`create_private`) with ``data``, durably: the data and
    then the directory entry are flushed to the disk before returning."""
    with os.fdopen(create_private(path), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(path.parent)


def write_temporary(directory: Path, data: bytes, prefix: str, suffix: str = "") -> Path:
    """A new file in ``directory`` (named ``prefix``…``suffix``) holding ``data`` flushed
    to the disk, for the caller to rename into place; nothing is left on failure."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
