"""HISTORIAL.csv of a corte being published, and the site's history files beside it
(:func:`escribir_historial`): per acta from the fold's trajectories, or per tramo, a
tramo's text of the previous corte reused where none of its actas changed
(:mod:`prep.corte.tramos`); and what else ``publish`` takes of the tramos (the CSV
lines that changed, for ``diferencias.json``: :func:`cambios_conocidos`)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

from central.publication.diferencias import Cambios
from central.publication.snapshot import Snapshot
from central.publication.staging import CHUNK
from central.publication.staging import CorteError
from central.publication.staging import Staging
from prep.corte.anexo import TimeFormatter
from prep.corte.anexo import time_formatter
from prep.corte.carrete import texto
from prep.corte.historial import HISTORIAL
from prep.corte.historial import cuerpos_de
from prep.corte.historial import encabezado_csv
from prep.corte.historial import lineas_csv
from prep.corte.historial import lineas_de_cuerpo
from prep.corte.historial import lineas_por_acta
from prep.corte.insumos import Global
from prep.corte.insumos import Lee
from prep.corte.insumos import contexto
from prep.corte.insumos import igual
from prep.corte.memo import Mismo
from prep.corte.memo import RenderMemo
from prep.corte.site_historial import entradas_por_acta
from prep.corte.site_historial import historial_acta
from prep.corte.site_historial import historial_acta_de_cuerpo
from prep.corte.site_historial import historial_archivos
from prep.corte.site_historial import historial_archivos_en_orden
from prep.corte.summary import TablaEleccion
from prep.corte.tramos import Secciones
from prep.corte.tramos import Tramos
from prep.rules import RuleSet

_LINEAS = 2_000  # actas of HISTORIAL.csv per piece written


def escribir_historial(staging: Staging, snap: Snapshot, tablas: Sequence[TablaEleccion],
               name: str, rules: RuleSet, sitio: bool, also: Callable[[bytes], None],
               memo: RenderMemo | None = None,
               tramos: Mapping[str, Tramos] | None = None) -> None:
    """HISTORIAL.csv and, with ``sitio``, the site's history files (one per bloque of
    secciones): each acta's rows are made once, written to both and dropped (a national
    corte has three million of them), one election at a time. ``also``: given each piece
    of HISTORIAL.csv after it is written (in the writing thread). ``memo``: each acta's
    rows of earlier cortes, reused where made from the same objects; ``tramos``: per
    election, its secciones' text of the previous corte, reused where none of their
    actas changed (:mod:`prep.corte.tramos`; the per-acta memo is then not used)."""
    fmt = time_formatter()
    # Each acta's history is a function of its state, trajectory, publication and
    # verification (the memo's key, prep.corte.historial.cuerpos_de) and of the rules.
    store = None if memo is None or tramos is not None else memo.store(
        "historial", contexto(Lee.de(Global.CATALOGO, Global.REGLAS),
                              {Global.CATALOGO: catalogo_memo(snap), Global.REGLAS: rules}))
    publicadas = 0
    with staging.stream(HISTORIAL, also) as write:
        write(encabezado_csv(snap.simulacro).encode("utf-8-sig"))
        for tabla in tablas:
            lineas: list[str] = []
            por_seccion: dict[tuple[int, int], list[bytes]] = {}
            if tramos is not None:
                for trozo in trozos(historial_tramos(tabla, tramos[tabla.eleccion.codigo],
                                                       snap, name, rules, fmt, sitio,
                                                       staging.put)):
                    write(trozo)
            for fila, hecho in () if tramos is not None else cuerpos_de(
                    tabla, snap.historial, name, snap.corte, rules, fmt, store):
                publicadas += 1
                clave = fila.acta.clave
                if isinstance(hecho, str):
                    lineas.append(lineas_de_cuerpo(clave, hecho))
                    entrada = historial_acta_de_cuerpo(clave, hecho) if sitio else None
                else:  # a value CSV or JSON escapes: from the rows, as they escape it
                    lineas.append(lineas_csv(clave, hecho))
                    entrada = historial_acta(clave, hecho) if sitio else None
                if entrada is not None:
                    casilla = fila.acta.casilla
                    por_seccion.setdefault((casilla.distrito_id, casilla.seccion), []).append(
                        entrada.encode())
                if len(lineas) == _LINEAS:
                    write("".join(lineas).encode("utf-8"))
                    lineas.clear()
            write("".join(lineas).encode("utf-8"))
            if sitio and tramos is None:
                for path, data in historial_archivos(snap.catalog, tabla.eleccion.codigo,
                                                     por_seccion, name):
                    staging.put(path, data)
                del por_seccion
    if store is not None and len(store) > publicadas:
        # An acta no longer published (or no longer in the snapshot) would keep its old
        # state and trajectory alive in the memo: forgotten.
        for clave in [c for c, hecho in store.items() if not igual(hecho[0], snap.estado.get(c))]:
            del store[clave]


def catalogo_memo(snap: Snapshot) -> object:
    """The catalog as the memo compares it: its SHA-256 (a national catalog is half a
    million actas; its version's digest is what comparing it by value costs). A
    snapshot made by hand has none: then the catalog object itself, by identity
    (:class:`prep.corte.memo.Mismo`; a catalog is never changed in place, so the same
    object is the same value, and another object only costs a corte made whole)."""
    return snap.catalog_huella if snap.catalog_huella is not None else Mismo(snap.catalog)


def trozos(piezas: Iterable[bytes], tamano: int = CHUNK) -> Iterator[bytes]:
    """``piezas`` joined in runs of about ``tamano`` bytes: a national election's history
    is a hundred megabytes, which joined whole would sit in memory twice (and a fresh
    block that size is paid for page by page)."""
    run: list[bytes] = []
    size = 0
    for pieza in piezas:
        run.append(pieza)
        size += len(pieza)
        if size >= tamano:
            yield b"".join(run)
            run.clear()
            size = 0
    if run:
        yield b"".join(run)


def cambios_conocidos(secciones: Secciones | None, tramos: Mapping[str, Tramos] | None,
             anterior: Path | None) -> dict[str, Cambios] | None:
    """Per election, the CSV lines that differ from ``anterior``'s, when ``anterior`` is
    the corte the tramos' previous pieces were published in (otherwise the files are
    compared)."""
    if secciones is None or tramos is None or anterior is None \
            or secciones.nombre != anterior.name:
        return None
    out: dict[str, Cambios] = {}
    for codigo, t in tramos.items():
        lineas = t.lineas_cambiadas()
        if lineas is None or codigo not in secciones.fuera:
            return None
        out[codigo] = (*lineas, secciones.fuera[codigo])
    return out


def historial_tramos(tabla: TablaEleccion, tramos: Tramos, snap: Snapshot, name: str,
                      rules: RuleSet, fmt: TimeFormatter, sitio: bool,
                      poner: Callable[[str, bytes], None]) -> Iterator[bytes]:
    """``tabla``'s HISTORIAL.csv lines (UTF-8, returned) and, with ``sitio``, its site
    history files (given to ``poner`` first, each bloque's as soon as its secciones are
    read), tramo by tramo: a tramo's of the previous corte where none of its actas
    changed, made again (and kept in its piece, then in the carrete:
    ``Tramos.guardar``) otherwise."""
    try:
        piezas = tramos.hechas()
    except ValueError as exc:
        raise CorteError(str(exc)) from None
    for i, pieza in enumerate(piezas):
        # Each text is made again only where the inputs its own file declares changed
        # (HISTORIAL.csv's, the site's): the other, made along, is not put in its place.
        hacer_csv = pieza.historial is None
        hacer_sitio = sitio and pieza.historial_sitio is None
        if hacer_csv or hacer_sitio:
            previos = historial_previo(tramos, i, sitio)
            hechos: dict[str, tuple[str, str]] = {}
            for fila, hecho in cuerpos_de(
                    tabla, snap.historial, name, snap.corte, rules, fmt, None,
                    pieza.filas if not previos else
                    [f for f in pieza.filas if f.acta.clave not in previos]):
                clave = fila.acta.clave
                if isinstance(hecho, str):
                    hechos[clave] = (lineas_de_cuerpo(clave, hecho),
                                     historial_acta_de_cuerpo(clave, hecho) if sitio else "")
                else:  # a value CSV or JSON escapes: from the rows, as they escape it
                    hechos[clave] = (lineas_csv(clave, hecho),
                                     historial_acta(clave, hecho) if sitio else "")
            if not previos:
                if hacer_csv:
                    pieza.historial = "".join(t for t, _ in hechos.values()).encode("utf-8")
                if hacer_sitio:
                    pieza.historial_sitio = ",".join(e for _, e in hechos.values()).encode()
                continue
            textos: list[bytes] = []
            entradas: list[bytes] = []
            for fila in pieza.filas:  # in order: an unchanged acta's text as it was
                clave = fila.acta.clave
                previo = previos.get(clave)
                if previo is not None:
                    textos.append(previo[0])
                    entradas.append(previo[1])
                elif clave in hechos:
                    suyas, entrada = hechos[clave]
                    textos.append(suyas.encode("utf-8"))
                    entradas.append(entrada.encode())
            if hacer_csv:
                pieza.historial = b"".join(textos)
            if hacer_sitio:
                pieza.historial_sitio = b",".join(entradas)
    if sitio:
        # A sección's tramos are consecutive: read at once. The catalog lists them in
        # order, and each bloque's file is made as soon as its secciones are read.
        grupos = ((seccion, entradas_) for seccion, entradas_ in tramos.grupos(
            "historial_sitio", tramos.rangos.secciones) if entradas_)
        for path, data in historial_archivos_en_orden(
                snap.catalog, tabla.eleccion.codigo, grupos, name):
            poner(path, data)
        tramos.guardar("historial_sitio")
    lineas = tramos.partes("historial", CHUNK)
    tramos.guardar("historial")
    return lineas


def historial_previo(tramos: Tramos, i: int, sitio: bool) -> dict[str, tuple[bytes, bytes]]:
    """Per acta of tramo ``i`` whose inputs did not change since the previous corte
    (``Tramos.cambiadas``) and that had history there, its HISTORIAL.csv lines and (with
    ``sitio``) its site entry of that corte, which are this corte's: a tramo is made
    again for one changed acta, its other actas' history is taken as it was (two of a
    tramo of three with one changed acta). Empty when the previous texts are not at
    hand or cannot be cut per acta."""
    antigua = tramos.antigua(i)
    cambiadas = tramos.cambiadas_en(*(("historial", "historial_sitio") if sitio
                                      else ("historial",)))
    if antigua is None or cambiadas is None or antigua.historial is None \
            or (sitio and antigua.historial_sitio is None):
        return {}
    inicio, fin = tramos.rangos.limites[i]
    claves = tramos.rangos.claves[inicio:fin]
    quedan = [c for k, c in enumerate(claves, inicio) if k not in cambiadas]
    if not quedan:
        return {}
    lineas = lineas_por_acta(texto(antigua.historial, i), claves)
    if lineas is None:
        return {}
    if not sitio:
        return {c: (lineas[c], b"") for c in quedan if c in lineas}
    assert antigua.historial_sitio is not None
    entradas = entradas_por_acta(texto(antigua.historial_sitio, i), claves)
    if entradas is None or entradas.keys() != lineas.keys():
        return {}
    return {c: (lineas[c], entradas[c]) for c in quedan if c in lineas}
