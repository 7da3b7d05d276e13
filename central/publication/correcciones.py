"""What a correction changed, read from the previous corte (issue 61).

The corte that first publishes a correction (the snapshot's ``pendientes``) says in the
acta's CORRECCION_PUBLICADA row what changed from what to what, and keeps every history
row the previous corte published of the acta (its re-validated state no longer generates
the earlier VALIDACION row): the public history only grows. Both come from the previous
corte's own files, exactly as they were published: the acta's row of its election CSV
and its rows of HISTORIAL.csv. The corte records them with the correction
(``correcciones_publicadas.cambios`` and ``.previas``, revision 0026), so every later
corte publishes the very same rows (:mod:`central.publication.snapshot_historial`).

Corrections are few (a share of the actas cotejadas), so each is looked up in the
previous corte's files by its key (memory-mapped, no parse of the whole file), in the
order the files list the actas (each election's actas in catalog order): each search
starts where the previous one matched, so the keys cost one pass over a file, not one
each (a national corte's HISTORIAL.csv is hundreds of MB; 205 corrections searched from
its start took 8.7 s). A key not found after the previous one is searched again from the
start, so the order only makes it fast, never changes what is found.
"""

from __future__ import annotations

import csv
import logging
import mmap
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from central.publication.snapshot import Snapshot
from prep.corte.anexo import LINEAS_ENCABEZADO
from prep.corte.historial import HISTORIAL
from prep.corte.historial import Pendiente
from prep.corte.package import csv_name
from prep.values import format_valor

log = logging.getLogger("central.publication")

#: The longest line read back (an acta's CSV row or history row is far shorter).
_MAX_LINEA = 64 * 1024


def con_antes(snap: Snapshot, anterior: Path | None) -> Snapshot:
    """``snap`` with each correction it publishes first completed with what it changed
    and the acta's history rows of the previous corte (``anterior``); as it is when it
    publishes none, or no previous corte is at hand."""
    pendientes = snap.historial.pendientes
    if not pendientes or anterior is None:
        return snap
    orden = _en_orden(snap, pendientes)
    previas = _lineas(anterior / HISTORIAL, orden, todas=True)
    por_eleccion: dict[str, list[str]] = {}
    for clave in orden:
        acta = snap.catalog.actas_por_clave.get(clave)
        if acta is not None:
            por_eleccion.setdefault(csv_name(acta.eleccion), []).append(clave)
    filas: dict[str, dict[str, str]] = {}
    for nombre, claves in por_eleccion.items():
        filas.update(_filas_csv(anterior / nombre, claves))
    completas: dict[str, Pendiente] = {}
    for clave, (cotejo, campos, motivo, _, _) in pendientes.items():
        completas[clave] = (cotejo, campos, motivo, _cambios(snap, clave, filas.get(clave)),
                            tuple(tuple(r[1:]) for r in previas.get(clave, ())))
    return replace(snap, historial=replace(snap.historial, pendientes=completas))


def _en_orden(snap: Snapshot, claves: Iterable[str]) -> list[str]:
    """``claves`` in the order the corte's files list them: election, then the acta's
    casilla in catalog order (``Catalog.casillas_ordenadas``); keys outside the catalog
    last."""
    elecciones = {e.codigo: i for i, e in enumerate(snap.catalog.elecciones)}
    por_clave = snap.catalog.actas_por_clave

    def lugar(clave: str) -> tuple[int, tuple[int, ...], str]:
        acta = por_clave.get(clave)
        if acta is None:
            return len(elecciones), (), clave
        return elecciones[acta.eleccion.codigo], acta.casilla.sort_key(), clave
    return sorted(claves, key=lugar)


def _cambios(snap: Snapshot, clave: str, antes: Mapping[str, str] | None
             ) -> tuple[tuple[str, str, str], ...]:
    """The captured fields whose published value the correction changed, in the CSV's
    column order: (column, before, after)."""
    est = snap.estado.get(clave)
    acta = snap.catalog.actas_por_clave.get(clave)
    if antes is None or est is None or est.captura is None or acta is None:
        return ()
    ahora = dict(zip(est.captura.campos, map(format_valor, est.captura.valores),
                     strict=True))
    return tuple((campo, antes[campo], ahora[campo])
                 for campo in acta.eleccion.campos_captura
                 if campo in ahora and campo in antes and antes[campo] != ahora[campo])


def _filas_csv(path: Path, claves: Iterable[str]) -> dict[str, dict[str, str]]:
    """The rows of ``claves`` in the election CSV at ``path``, by column."""
    try:
        with path.open("rb") as f:
            cabeza = [f.readline(_MAX_LINEA) for _ in range(LINEAS_ENCABEZADO)]
        columnas = next(csv.reader([cabeza[-1].decode("utf-8").rstrip("\r\n")]))
    except (OSError, UnicodeDecodeError, StopIteration, IndexError) as exc:
        log.warning("no se pudo leer %s para decir qué cambió cada corrección: %s", path, exc)
        return {}
    out = {}
    for clave, lineas in _lineas(path, claves, campo=1).items():
        if len(lineas[0]) == len(columnas):
            out[clave] = dict(zip(columnas, lineas[0], strict=True))
    return out


def _lineas(path: Path, claves: Iterable[str], campo: int = 0, todas: bool = False
            ) -> dict[str, list[list[str]]]:
    """Per key, the CSV lines of ``path`` whose field ``campo`` is ``'<key>'`` (the
    first one, or with ``todas`` every one of the consecutive run: an acta's history
    rows follow each other). Give ``claves`` in the file's order (:func:`_en_orden`):
    each search starts at the previous key's match, and from the file's start only
    when that finds nothing."""
    out: dict[str, list[list[str]]] = {}
    try:
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            desde = 0
            for clave in claves:
                marca = f"'{clave}',".encode()
                aguja = (b"\n" if campo == 0 else b",") + marca
                i = m.find(aguja, desde)
                if i < 0 and desde > 0:
                    i = m.find(aguja, 0, desde + len(aguja))
                if i < 0:
                    continue
                desde = i
                inicio = m.rfind(b"\n", 0, i + 1) + 1
                filas: list[list[str]] = []
                while inicio < len(m):
                    fin = m.find(b"\r\n", inicio, inicio + _MAX_LINEA)
                    if fin < 0:
                        break
                    linea = m[inicio:fin].decode("utf-8")
                    fila = next(csv.reader([linea]))
                    if len(fila) <= campo or fila[campo] != f"'{clave}'":
                        break
                    filas.append(fila)
                    inicio = fin + 2
                    if not todas:
                        break
                if filas:
                    out[clave] = filas
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.warning("no se pudo leer %s para conservar el historial de las correcciones: "
                    "%s", path, exc)
    return out
