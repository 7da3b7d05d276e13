"""Writing files that must survive a power cut: the data, then the directory entry."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
