"""The corte's zip (``PREP_<corte>.zip``): its CSVs and LEEME, byte-identical for
identical contents.

HISTORIAL.csv is most of a national zip (hundreds of megabytes to deflate). It is made
piece by piece while the corte builds it (:class:`ZipConHistorial`): the zip is opened
with every member that sorts before it, each piece of the history is deflated into its
member as it is written to disk, and the members after it are added at the end. The
result is the very file :func:`write_zip` makes from the finished files (deflate's
output does not depend on how its input is divided among calls when nothing is
flushed); the one header choice that depends on the member's final size (zip64, for a
history over ~2 GB) is checked at the end and, should it differ, the zip is made again
from the finished files.
"""

from __future__ import annotations

import contextlib
import shutil
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO

from prep.corte.anexo import TZ
from prep.corte.package import LEEME

# Level 1: a tenth larger than 6, four times faster (national cortes are 125 MB of CSV
# every few minutes, plus the history).
ZIP_LEVEL = 1
_CHUNK = 1024 * 1024


def write_zip(path: Path, *, files: Mapping[str, bytes], en_disco: Mapping[str, Path],
              corte: datetime) -> None:
    """The CSVs and LEEME in one zip at ``path``; ``en_disco``: files already written
    (HISTORIAL.csv), compressed piece by piece."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in _names(files, en_disco):
            info = _info(name, corte)
            if name in files:
                archive.writestr(info, files[name])
                continue
            source = en_disco[name]
            info.file_size = source.stat().st_size  # as writestr sets it: same header
            with source.open("rb") as f, archive.open(info, "w") as dest:
                shutil.copyfileobj(f, dest, _CHUNK)


class ZipConHistorial:
    """:func:`write_zip` of ``files`` plus ``historial`` (a file being written), made
    while it is written: :meth:`start`, :meth:`write` each piece, :meth:`finish`; all
    in one thread, in that order."""

    def __init__(self, path: Path, files: Mapping[str, bytes], historial: Path,
                 corte: datetime) -> None:
        self.path = path
        self._files = dict(files)
        self._historial = historial
        self._corte = corte
        self._fp: IO[bytes] | None = None
        self._archive: zipfile.ZipFile | None = None
        self._member: IO[bytes] | None = None
        self._size = 0

    def start(self) -> None:
        """Open the zip and write the members before the history's."""
        self._fp = self.path.open("w+b")
        self._archive = zipfile.ZipFile(self._fp, "w")
        for name in _names(self._files, {self._historial.name: self._historial}):
            if name == self._historial.name:
                break
            self._archive.writestr(_info(name, self._corte), self._files[name])
        # Its final size is not known yet: what the header says is rewritten on close.
        self._member = self._archive.open(_info(self._historial.name, self._corte), "w")

    def write(self, data: bytes) -> None:
        """One more piece of the history, as written to its file."""
        assert self._member is not None
        self._member.write(data)
        self._size += len(data)

    def finish(self, path: Path) -> None:
        """Close the history's member and write the rest (``path``: this zip's)."""
        assert self._archive is not None and self._member is not None and path == self.path
        if self._size * 1.05 > zipfile.ZIP64_LIMIT:  # write_zip would say zip64
            self.abort()
            write_zip(path, files=self._files, en_disco={self._historial.name:
                                                         self._historial},
                      corte=self._corte)
            return
        self._member.close()
        after = False
        for name in _names(self._files, {self._historial.name: self._historial}):
            if after:
                self._archive.writestr(_info(name, self._corte), self._files[name])
            after = after or name == self._historial.name
        self._archive.close()
        self.close()

    def abort(self) -> None:
        """Drop what was written (the file stays, to be replaced or discarded): the
        history's member and the zip are closed here, their failures ignored (the file
        is thrown away), so that neither writes into a closed file when collected."""
        member, archive = self._member, self._archive
        self._member = self._archive = None
        if member is not None:
            with contextlib.suppress(Exception):
                member.close()  # marked closed first, even if its last write fails
        if archive is not None:
            with contextlib.suppress(Exception):
                archive.close()
            archive.fp = None  # nothing more is written, not even on collection
        self.close()

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None


def _names(files: Mapping[str, bytes], en_disco: Mapping[str, Path]) -> list[str]:
    return sorted(n for n in [*files, *en_disco] if n.endswith(".csv") or n == LEEME)


def _info(name: str, corte: datetime) -> zipfile.ZipInfo:
    local = corte.astimezone(TZ)
    info = zipfile.ZipInfo(name, (local.year, local.month, local.day, local.hour,
                                  local.minute, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # What writestr(compresslevel=) sets; ``compress_level`` from Python 3.13.
    info._compresslevel = ZIP_LEVEL  # type: ignore[attr-defined]
    info.external_attr = 0o644 << 16
    return info
