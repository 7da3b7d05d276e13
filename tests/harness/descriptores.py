"""What files a process holds open (Linux ``/proc/self/fd``): the tests and benchmarks of
the files without a name a running central keeps (prep.corte.carrete)."""

from __future__ import annotations

import os
from pathlib import Path


def abiertos(directorio: Path) -> list[tuple[str, os.stat_result]]:
    """This process's open files in ``directorio``: what /proc says of each (a file
    without a name reads ``<directorio>/#<n> (deleted)``) and its ``fstat``."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            destino = os.readlink(f"/proc/self/fd/{fd}")
            estado = os.fstat(int(fd))
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if destino.startswith(f"{directorio}/"):
            out.append((destino, estado))
    return out
