"""The log of cortes mirrored under the difusor's web root (``RAIZ/transparencia/``, the
layout of the central's ``publicacion/transparencia/``), so its site serves the log too.

Only what :mod:`difusor.testigo` checked is written (the checkpoints, entries and
proofs it walked), plus the central's verifier key and the latest cosigned checkpoints
(``cofirmas/<n>``, rewritten by the central as cosignatures arrive), each read as a
signed note of the right checkpoint. ``checkpoint`` is written last, as the central
does: whoever reads it finds every file it names. A failure here is logged and changes
nothing served: the cortes are the difusor's job, the mirror a convenience.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from difusor.cliente import NoEncontrado
from difusor.cliente import Origen
from difusor.errores import DifusorError
from difusor.testigo import CHECKPOINT
from difusor.testigo import DIR
from difusor.testigo import MAX_CHECKPOINT
from difusor.testigo import Comprobado
from prep.durable import fsync_dir
from prep.durable import write_synced
from prep.transparencia import nota
from prep.transparencia.nota import NotaError

log = logging.getLogger("difusor.testigo")
LLAVE = f"{DIR}/llave"
#: The sizes whose ``cofirmas/<n>`` are fetched again after each check (cosignatures
#: of corte k arrive after it is published: they show with k+1 onwards).
COFIRMAS_RECIENTES = 3


def reflejar(origen: Origen, raiz: Path, comprobado: Comprobado) -> None:
    """Write the checked files, the key and the recent cosignatures into ``raiz``."""
    try:
        _reflejar(origen, raiz, comprobado)
    except (DifusorError, OSError) as exc:
        log.warning("no se pudo reflejar el registro de cortes de %s: %s", origen.url, exc)


def _reflejar(origen: Origen, raiz: Path, comprobado: Comprobado) -> None:
    cp = comprobado.checkpoint
    for rel, crudo in comprobado.archivos:
        if rel != CHECKPOINT:
            _escribir(raiz, rel, crudo)
    try:
        llave = origen.get(LLAVE, 1024)
        nombre, _, _ = nota.leer_llave_texto(llave.decode("ascii"))
        if nombre == cp.origen:
            _escribir(raiz, LLAVE, llave)
    except (NoEncontrado, NotaError, UnicodeDecodeError):
        pass
    for k in range(max(1, cp.tamano - COFIRMAS_RECIENTES + 1), cp.tamano + 1):
        rel = f"{DIR}/cofirmas/{k}"
        try:
            crudo = origen.get(rel, MAX_CHECKPOINT)
            leida = nota.checkpoint(nota.leer(crudo))
        except (NoEncontrado, NotaError):
            continue
        if (leida.origen, leida.tamano) == (cp.origen, k):
            _escribir(raiz, rel, crudo)
    _escribir(raiz, CHECKPOINT, comprobado.nota)


def _escribir(raiz: Path, rel: str, data: bytes) -> None:
    path = raiz / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(4)}"
    write_synced(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)
