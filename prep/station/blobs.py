"""Content-addressed image storage: ``blobs/ab/abcdef…`` holds the original bytes.

An image is written to a temporary file in the same directory tree, flushed to disk,
renamed into place and its directory flushed too, so after :meth:`BlobStore.put`
returns the file survives a power cut. Bytes are never re-encoded: the SHA-256 the
station reports is the SHA-256 of exactly what the scanner produced.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from pathlib import Path

from prep.durable import fsync_dir
from prep.durable import write_temporary
from prep.protocol import MAX_BLOB_BYTES
from prep.station.errors import StationInputError
from prep.station.errors import StationStorageError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

DISK_FULL_MESSAGE = (
    "El disco de la estación está lleno: no se guardó {que}. Lo ya registrado está a "
    "salvo. Libere espacio en el disco (o avise a su coordinador para que lo haga) y "
    "vuelva a intentarlo."
)
DISK_ERROR_MESSAGE = (
    "No se pudo escribir en el disco de la estación ({detalle}): no se guardó {que}. Lo "
    "ya registrado está a salvo. Avise a su coordinador: el disco puede estar fallando."
)


def storage_error(exc: OSError, que: str) -> StationStorageError:
    """The operator's message for a failed write of ``que`` (e.g. "la imagen")."""
    if exc.errno in DISK_FULL_ERRNOS:
        return StationStorageError(DISK_FULL_MESSAGE.format(que=que))
    return StationStorageError(DISK_ERROR_MESSAGE.format(detalle=exc.strerror or exc,
                                                         que=que))


class BlobStore:
    """The blob directory of one station data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def relative(self, sha256: str) -> str:
        """Where the blob lives relative to the data directory (stored in the DB)."""
        return f"{self.root.name}/{sha256[:2]}/{sha256}"

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256 (hex).

        Raises :class:`StationInputError` for an empty or oversized image and
        :class:`StationStorageError` when the disk refuses the write (nothing partial
        is left behind).
        """
        if not data:
            raise StationInputError("La imagen está vacía (0 bytes): vuelva a digitalizar "
                                    "el acta.")
        if len(data) > MAX_BLOB_BYTES:
            raise StationInputError(
                f"La imagen mide {len(data) / 2**20:.1f} MiB y el máximo es "
                f"{MAX_BLOB_BYTES // 2**20} MiB: digitalice con menor resolución.")
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return sha256
        try:
            self._write(target, data)
        except OSError as exc:
            raise storage_error(exc, "la imagen") from exc
        return sha256

    def read(self, sha256: str) -> bytes:
        """The stored bytes; raises ``OSError`` if the file is gone."""
        return self.path_for(sha256).read_bytes()

    def _write(self, target: Path, data: bytes) -> None:
        for directory in (self.root, self._tmp, target.parent):
            if not directory.is_dir():
                directory.mkdir(parents=True, exist_ok=True)
                fsync_dir(directory.parent)
        tmp = write_temporary(self._tmp, data, prefix=target.name[:16] + ".")
        try:
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)

    def remove_temporaries(self, older_than: float = 0.0) -> int:
        """Delete leftovers of writes interrupted by a crash, older than ``older_than``
        seconds (another process may be writing a young one right now); return how many.
        """
        if not self._tmp.is_dir():
            return 0
        count = 0
        limit = time.time() - older_than
        for leftover in self._tmp.iterdir():
            try:
                if leftover.stat().st_mtime <= limit:
                    leftover.unlink()
                    count += 1
            except FileNotFoundError:
                continue
        return count
