"""What the digitalización screen needs from the station (Qt-free).

- :class:`ScannerSettings`: where the scanner's software writes (a small JSON file in
  the station's data directory, so the choice survives a restart; default
  ``<data_dir>/escaner``);
- :func:`image_tally`: which actas of this station still lack an image, and which
  images came without an acopio (:mod:`prep.station.ledger`);
- :func:`settle_associated`: a file rejected for its QR and then associated by hand
  leaves ``rechazadas/`` for ``procesadas/`` (with its reason note removed), so the
  rejected folder keeps only what still needs someone.

Every function here touches the disk or the store: call them on a worker.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from prep.station.ledger import read_ledger
from prep.station.scan.hotfolder import MOTIVO_SUFFIX
from prep.station.scan.hotfolder import PROCESADAS
from prep.station.scan.hotfolder import safe_subdir
from prep.station.station import Station

log = logging.getLogger("prep.station.digitalizacion")

SETTINGS_FILE = "digitalizacion.json"
DEFAULT_FOLDER = "escaner"
MAX_SETTINGS_BYTES = 64 * 1024
MAX_PATH_CHARS = 4096


@dataclass(frozen=True)
class ScannerSettings:
    """The hot folder this station watches."""

    folder: Path

    @classmethod
    def load(cls, data_dir: Path) -> ScannerSettings:
        """The saved choice, or the default; a damaged file falls back to the default
        (logged) rather than stopping digitalización."""
        default = cls(data_dir / DEFAULT_FOLDER)
        path = data_dir / SETTINGS_FILE
        try:
            if path.stat().st_size > MAX_SETTINGS_BYTES:
                raise ValueError("too large")
            raw = json.loads(path.read_text(encoding="utf-8"))
            folder = raw["carpeta"]
            # U+0000 fits in JSON but in no path (every use of it would raise).
            if not isinstance(folder, str) or not folder or len(folder) > MAX_PATH_CHARS \
                    or "\x00" in folder:
                raise ValueError("carpeta is not a path")
        except FileNotFoundError:
            return default
        # RecursionError: "[[[[…" nested past the decoder's limit (a 64 KiB file holds
        # far more than it takes).
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            log.warning("ignoring %s (%s): using %s", path, exc, default.folder)
            return default
        return cls(Path(folder))

    def save(self, data_dir: Path) -> None:
        """Write the choice atomically (a crash leaves the old file or the new one)."""
        path = data_dir / SETTINGS_FILE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"carpeta": str(self.folder)}, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)


@dataclass(frozen=True)
class ImageTally:
    """Actas this station received on paper without an image yet (``pendientes``) and
    images of actas that have no acopio here (``sin_acopio``)."""

    pendientes: int
    sin_acopio: int


def image_tally(station: Station) -> ImageTally:
    """Count from the station store (a few thousand rows at most at one CATD)."""
    ledger = read_ledger(station.store)
    return ImageTally(len(ledger.sin_imagen), len(ledger.imagen_sin_acopio))


def settle_associated(path: Path) -> Path:
    """Move a rejected file that is now stored to ``procesadas/`` beside its folder;
    the new path (the old one if it could not be moved: the image is stored either
    way, so a failure here only leaves a file behind, and is logged)."""
    target_dir = path.parent.parent / PROCESADAS
    stem, dot, ext = path.name.rpartition(".")
    if not dot:
        stem, ext = path.name, ""
    try:
        safe_subdir(target_dir.parent, PROCESADAS)  # never through a planted link
        for n in range(10_000):
            target = target_dir / (path.name if n == 0 else f"{stem}-{n}{dot}{ext}")
            if not target.exists():
                break
        os.replace(path, target)
        path.with_name(path.name + MOTIVO_SUFFIX).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not move %s to %s: %s", path, target_dir, exc)
        return path
    return target


_FOLDER_ERRORS = {
    errno.EACCES: "la estación no tiene permiso de escribir en ella",
    errno.EPERM: "la estación no tiene permiso de escribir en ella",
    errno.ENOTDIR: "parte de la ruta es un archivo, no una carpeta",
    errno.ENOENT: "no existe y no se pudo crear",
    errno.ENOSPC: "el disco está lleno",
    errno.EROFS: "está en un disco de solo lectura",
    errno.EIO: "el disco o la red no responden",
}


def folder_problem(error: OSError) -> str:
    """Why a folder cannot be used, in the operator's words."""
    return _FOLDER_ERRORS.get(error.errno or 0, error.strerror or str(error))
