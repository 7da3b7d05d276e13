"""The drill's output directory: how much room a drill needs, and taking the directory
(a previous drill's output is replaced; anything else is refused)."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The drill's metrics file; its presence marks a directory as a drill's output.
MARKER = "simulacro.json"
SPACE_FIXED = 300 * 10**6  # bytes: the central's PostgreSQL, logs, catalog
#: Bytes per acta at 100 dpi, a difusor's aside. Measured on the full-scale drill of
#: 2026-11-29 (bench/RESULTS.md, fortieth session): 31.9 GB for 39,747 actas and 13
#: cortes (the central 15 GB, the stations 15 GB), ≈800 kB an acta; 850 kB leaves room
#: for a night with more cortes. (It was 500 kB, measured when a drill left 18 GB: the
#: drill of 2026-11-29 asked for 26.1 GB and took 36–37 GB.)
SPACE_PER_ACTA = 850 * 10**3
#: A difusor keeps a copy of every corte (its images linked across them): 5.2 GB for
#: 39,747 actas and 13 cortes at 100 dpi (≈130 kB an acta).
SPACE_PER_ACTA_DIFUSOR = 150 * 10**3


def space_needed(actas: int, dpi: int, difusores: int = 0) -> int:
    """Bytes a drill of ``actas`` leaves in its output directory, roughly: the full-scale
    drill at 100 dpi left 37 GB for 39,747 actas with one difusor (each image kept by its
    station, the central and the stations that captured it, plus every corte published),
    and the central's database and logs are a few hundred MB at any size; each difusor,
    about the publication again."""
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
