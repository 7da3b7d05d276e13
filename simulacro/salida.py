"""The drill's output directory: how much room a drill needs, and taking the directory
(a previous drill's output is replaced; anything else is refused)."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The drill's metrics file; its presence marks a directory as a drill's output.
MARKER = "simulacro.json"
SPACE_FIXED = 300 * 10**6  # bytes: the central's PostgreSQL, logs, catalog
SPACE_PER_ACTA = 500 * 10**3  # bytes at 100 dpi (measured: 18 GB / 39,672 actas)
#: A difusor keeps a copy of every corte (its images linked across them): about what
#: the publication takes (measured at 100 dpi: 56 MB for 427 actas and 6 cortes).
SPACE_PER_ACTA_DIFUSOR = 150 * 10**3


def space_needed(actas: int, dpi: int, difusores: int = 0) -> int:
    """Bytes a drill of ``actas`` leaves in its output directory, roughly: the full-scale
    drill at 100 dpi left 18 GB for 39,672 actas (each image kept by its station, the
    central and the stations that captured it, plus every corte published), and the
    central's database and logs are a few hundred MB at any size; each difusor, about
    the publication again."""
    per_acta = SPACE_PER_ACTA + difusores * SPACE_PER_ACTA_DIFUSOR
    return SPACE_FIXED + int(per_acta * actas * (dpi / 100) ** 2)


def prepare_out(out: Path, needed: int = 0) -> None:
    """Use ``out``; a previous drill there (full or ``--rapido``) is replaced, anything
    else is refused, and so is a disk without ``needed`` bytes free (better now than an
    hour into the drill)."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise FileExistsError(f"{out} ya existe y no es la salida de un simulacro; "
                                  "elija otro --out")
        shutil.rmtree(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free
    if free < needed:
        if created:
            out.rmdir()
        raise OSError(f"no hay espacio suficiente en {out.parent}: este "
                      f"simulacro necesita unos {needed / 1e9:.1f} GB y hay "
                      f"{free / 1e9:.1f} GB libres. Libere espacio, use --out en otro disco "
                      "o una --scale menor.")
