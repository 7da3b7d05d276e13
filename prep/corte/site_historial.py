"""The public site's history files: the timeline of each acta with data, per bloque.

An acta's page shows its HISTORIAL.csv rows without CLAVE_ACTA, from one file per
election and bloque of secciones (``datos/e<EE>/d<DDD>/h<SSSS>.js``,
:func:`historial_file`; bloques: :func:`prep.corte.site_datos.bloques`), which only an
acta's page loads. :func:`prep.corte.site.iter_site_files` writes them from each acta's
rows (:func:`historial_files_from_rows`); a corte that writes HISTORIAL.csv itself makes
each acta's entry as it writes the acta's lines (:func:`historial_acta`,
:func:`historial_acta_de_cuerpo`), then the files at once (:func:`historial_files`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

from prep.catalog.model import Catalog
from prep.corte.historial import COLUMNS as HISTORIAL_COLUMNS
from prep.corte.historial import por_acta
from prep.corte.site_datos import BLOQUE_CASILLAS
from prep.corte.site_datos import PLAIN_JSON
from prep.corte.site_datos import SITE_DIR
from prep.corte.site_datos import bloques
from prep.corte.site_datos import data_file
from prep.corte.site_datos import row_json
from prep.corte.summary import TablaEleccion


def historial_file(codigo: str, distrito_id: int, primera: int) -> str:
    """Path (relative to the corte root) of the history of the actas of a bloque."""
    return f"{SITE_DIR}/datos/e{codigo}/d{distrito_id:03d}/h{primera:04d}.js"


def historial_files_from_rows(catalog: Catalog, tabla: TablaEleccion,
                               historial: Mapping[str, Sequence[Sequence[str]]],
                               nombre: str, bloque_casillas: int) -> dict[str, bytes]:
    """One file per bloque of secciones with the timeline of each of its actas with
    data: the HISTORIAL.csv rows of the acta, without CLAVE_ACTA (``columnas``)."""
    por_seccion: dict[tuple[int, int], list[bytes]] = {}
    for fila in tabla.filas:
        clave = fila.acta.clave
        rows = historial.get(clave)
        if rows:
            casilla = fila.acta.casilla
            por_seccion.setdefault((casilla.distrito_id, casilla.seccion), []).append(
                historial_acta(clave, rows).encode())
    return historial_files(catalog, tabla.eleccion.codigo, por_seccion, nombre,
                           bloque_casillas)


def historial_acta(clave: str, rows: Iterable[Sequence[str]]) -> str:
    """One acta's entry in its bloque's history file (for :func:`historial_files`)."""
    rows = list(rows)
    if rows and PLAIN_JSON.fullmatch("".join(map("".join, rows))):  # row_json, at once
        return f'"{clave}":[["' + '"],["'.join(map('","'.join, rows)) + '"]]'
    return f'"{clave}":[{",".join(row_json(r) for r in rows)}]'


def historial_acta_de_cuerpo(clave: str, cuerpo: str) -> str:
    """:func:`historial_acta` of the rows whose :func:`prep.corte.historial.cuerpo` is
    ``cuerpo`` (no value in it needs escaping, in CSV or JSON)."""
    return f'"{clave}":[["' + cuerpo.replace(",", '","').replace("\r\n", '"],["') + '"]]'


def entradas_por_acta(texto: bytes, claves: Sequence[str]) -> dict[str, bytes] | None:
    """A tramo's entries (``texto``: :func:`historial_acta` of its actas ``claves`` with
    history, in order, UTF-8, joined by commas) cut per acta: CLAVE_ACTA → its entry
    (None: the text is not that). A JSON string holds a quote only escaped, so
    ``,"CLAVE":[`` starts an entry wherever it is."""
    return por_acta(texto, [(c, f'"{c}":['.encode()) for c in claves], b",", b",")


def historial_files(catalog: Catalog, codigo: str,
                    por_seccion: Mapping[tuple[int, int], Sequence[bytes]],
                    nombre: str | None = None,
                    bloque_casillas: int = BLOQUE_CASILLAS) -> dict[str, bytes]:
    """:func:`historial_archivos`, all at once."""
    return dict(historial_archivos(catalog, codigo, por_seccion, nombre, bloque_casillas))


def historial_archivos(catalog: Catalog, codigo: str,
                       por_seccion: Mapping[tuple[int, int], Sequence[bytes]],
                       nombre: str | None = None, bloque_casillas: int = BLOQUE_CASILLAS
                       ) -> Iterator[tuple[str, bytes]]:
    """The history files of election ``codigo``, one per bloque of secciones of the
    catalog (:func:`~prep.corte.site_datos.bloques`), from the :func:`historial_acta`
    entries (UTF-8) of the actas with data of each (distrito, sección), in CSV order
    (several actas' entries may come as one, joined by commas). A corte
    builds them while it writes HISTORIAL.csv (rows are made once, then dropped) and calls
    :func:`prep.corte.site.site_files` with ``historial_aparte``. ``nombre``: the corte's
    directory name, which each file carries; ``bloque_casillas`` as ``site_files`` was
    given. Each file is yielded as soon as it is made, and its entries then dropped (a
    national election's history is a hundred megabytes)."""
    return historial_archivos_en_orden(catalog, codigo, sorted(por_seccion.items()), nombre,
                                       bloque_casillas)


def historial_archivos_en_orden(
        catalog: Catalog, codigo: str,
        secciones: Iterable[tuple[tuple[int, int], Sequence[bytes]]],
        nombre: str | None = None, bloque_casillas: int = BLOQUE_CASILLAS,
        ) -> Iterator[tuple[str, bytes]]:
    """:func:`historial_archivos` of the entries of each (distrito, sección) given in
    ascending order (as a corte's tramos come: ValueError otherwise), each bloque's file
    yielded as soon as its secciones were given: an election's entries are never held
    together."""
    inicios = bloques(catalog, bloque_casillas)
    entradas = iter(secciones)
    pendiente = next(entradas, None)
    previa: tuple[int, int] | None = None
    for d, starts in sorted(inicios.items()):
        for s in starts:
            actas: list[bytes] = []
            while pendiente is not None:
                seccion, de_seccion = pendiente
                if previa is not None and seccion <= previa:
                    raise ValueError("las secciones del historial no vienen en orden")
                pd, ps = seccion
                inicio = inicios[pd]
                if (pd, inicio[bisect_right(inicio, ps) - 1]) != (d, s):
                    break
                actas.extend(de_seccion)
                previa = seccion
                pendiente = next(entradas, None)
            yield historial_file(codigo, d, s), data_file(
                f"e{codigo}/d{d:03d}/h{s:04d}",
                {"eleccion": codigo, "distrito": d, "bloque": s,
                 "columnas": list(HISTORIAL_COLUMNS[1:])},
                {"actas": ("{", actas, "}")}, corte=nombre)
    if pendiente is not None:
        raise ValueError("las secciones del historial no vienen en orden")
