"""The static public site of a corte: plain HTML/CSS/JS plus the data it shows.

The site lives in ``sitio/`` inside the corte directory, beside the CSV package, and reads
nothing but files of that same corte, so any static web server or CDN can serve it (and a
browser can open it from disk). Its data are the corte's own tables — the very
:class:`~prep.corte.summary.TablaEleccion` the CSV is written from — so every figure on a
page is a figure of the CSV: acta rows are the CSV rows themselves, the entidad header is
CSV line 5, and the distrito and sección summaries use the same :class:`Resumen`
arithmetic (truncated percentages in integers).

Data go in small JavaScript files (``PREP.recibir("<ruta>", <JSON>);``) rather than
``.json``: a browser refuses ``fetch()`` from ``file://`` but runs ``<script>`` files, and
a phone downloads only what the page it opens shows: the election, the distrito (its
summaries), and the acta rows and history of the *bloque* of secciones holding the sección
it opens (:func:`~prep.corte.site_datos.bloques`: whole secciones, at most
:data:`~prep.corte.site_datos.BLOQUE_CASILLAS` casillas, so a national corte's sección
page loads a few kilobytes, not its distrito's ≈5,000 actas). Format: ``docs/sitio.md``.

How a data file is written and read, and the bloques, are in :mod:`prep.corte.site_datos`;
the acta histories' files in :mod:`prep.corte.site_historial`; the acta rows taken from
the texts a render memo made the CSV's rows as in :mod:`prep.corte.site_textos`; the
territories' sums in :mod:`prep.corte.site_areas` and their candidaturas in
:mod:`prep.corte.site_candidaturas`.

This is plain rendering: it never imports the incremental engine (an import contract in
pyproject.toml keeps it so). A running central's engine gives :func:`iter_site_files` its
reuse of the previous corte's areas and rows (:class:`ReusoSitio`, made by
:func:`prep.corte.site_tramos.sitio_por_tramos`), calling back into the plain rendering
here for whatever changed; without it, the same bytes are made from the rows.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from operator import itemgetter
from typing import Any
from typing import ParamSpec
from typing import Protocol

from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.anexo import TZ
from prep.corte.anexo import CasillaColumns
from prep.corte.anexo import (
    acta_rows,  # the CSV rows themselves: the site can never show other figures
)
from prep.corte.anexo import columns
from prep.corte.anexo import filas_csv
from prep.corte.anexo import format_corte_time
from prep.corte.archivos import registrado
from prep.corte.difusores import DATOS as DIFUSORES_DATOS
from prep.corte.difusores import RUTA as RUTA_DIFUSORES
from prep.corte.difusores import Fila as FilaDifusor
from prep.corte.difusores import datos_sitio as datos_difusores
from prep.corte.historial import HISTORIAL
from prep.corte.nombres import LEEME
from prep.corte.nombres import MANIFEST
from prep.corte.nombres import NOMBRE_CORTE
from prep.corte.nombres import candidaturas_csv_name
from prep.corte.nombres import corte_dirname
from prep.corte.nombres import csv_name
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import datos_sitio
from prep.corte.simulacro import stamp_html
from prep.corte.site_areas import MESAS
from prep.corte.site_areas import Area
from prep.corte.site_areas import Memoria
from prep.corte.site_areas import Niveles
from prep.corte.site_areas import VoteIndex
from prep.corte.site_candidaturas import percentages as percentages  # re-exported
from prep.corte.site_datos import BLOQUE_CASILLAS
from prep.corte.site_datos import SITE_DIR
from prep.corte.site_datos import bloque_de
from prep.corte.site_datos import bloques
from prep.corte.site_datos import check_path
from prep.corte.site_datos import compact_json
from prep.corte.site_datos import data_file
from prep.corte.site_datos import image_column
from prep.corte.site_datos import row_json
from prep.corte.site_historial import historial_files_from_rows
from prep.corte.site_textos import textos_json
from prep.corte.summary import RESUMEN_COLUMNS
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion
from prep.rules import Base

FORMATO = 4
ASSETS: tuple[str, ...] = ("estilo.css", "app.js", "votos.js", "sha256.js", "testigos.js",
                           "icono.svg")
#: The Content Security Policy of the site (docs/sitio.md): only its own files (scripts,
#: styles, images, data), no inline script or style, nothing from another host. In a
#: ``<meta>`` of every page so it holds from ``file://`` and behind any difusor's server,
#: and sent as a header by the shipped nginx configuration too (installer/nginx).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'self'; base-uri 'none'; "
                           "form-action 'none'")

#: CSV columns the acta rows of the site leave out: the same for every row of a file, or
#: shown elsewhere (the entidad, the distrito's and demarcación's names). TIPO_ACTA and
#: TIPO_DOCUMENTO stay: they differ per casilla type and per acta (issue 28).
OMITTED_COLUMNS = frozenset({"ID_ENTIDAD", "ENTIDAD", "ID_DISTRITO_LOCAL", "DISTRITO_LOCAL",
                             "DEMARCACION"})
#: The demarcación of each acta row: a CSV column in an election of ámbito demarcación,
#: added by the site after the CSV columns in the others (the alcaldía's sección pages
#: pick their actas by it).
DEMARCACION_COLUMN = "ID_DEMARCACION"
#: Column the site adds after the CSV ones: the image path relative to ``sitio/`` ("" when
#: the acta has no image). The browser checks the image against CODIGO_INTEGRIDAD.
EXTRA_COLUMNS: tuple[str, ...] = ("IMAGEN",)

#: The name of a corte directory (``YYYYMMDD_HHMM``, ``_2``… for a second one that minute).
P = ParamSpec("P")

Hoja = tuple[int, int, int]  # (distrito, demarcación, sección): a leaf area's key
#: Adds an acta (its row, its CSV row or the JSON of it) to the leaf areas and rows given.
Agregar = Callable[[Fila, str | Sequence[str], dict[Hoja, Area], list[str]], None]


class ReusoSitio(Protocol):
    """The engine's reuse of an election's site work from the previous corte (a running
    central's tramos: :class:`prep.corte.site_tramos.SitioPorTramos`): the same leaf
    areas, acta rows and area texts the plain path makes, taken where nothing they are
    made of changed."""

    def hojas(self, hacer: Callable[[Sequence[Fila]], Sequence[Sequence[str]]],
              add: Agregar, size: int, bloque: Mapping[tuple[int, int], int],
              leaves: dict[Hoja, Area], rows: dict[tuple[int, int], list[bytes]],
              ) -> dict[int, tuple[str, str]]:
        """Fill ``leaves`` and each bloque's acta rows (``rows``, the JSON texts as
        UTF-8), with ``add`` for the actas made again (their CSV rows by ``hacer`` where
        the CSV did not make them); returns the leaf areas' JSON texts kept (by id)."""

    def memoria(self) -> Memoria:
        """The sums and sección texts kept from the previous corte (:class:`Niveles`)."""

    def guardar(self, textos: Mapping[int, tuple[str, str]]) -> None:
        """Keep this corte's JSON texts of the leaf areas (by id) for the next corte."""


# Twelve arguments: the corte's parts, all but the first four optional.
def iter_site_files(catalog: Catalog, tablas: Mapping[str, TablaEleccion], corte: datetime,  # noqa: PLR0913
                    imagenes: Mapping[str, tuple[str, str]],
                    descargas: Sequence[str] = (), simulacro: bool = False,
                    historial: Mapping[str, Sequence[Sequence[str]]] | None = None,
                    salud_catd: Sequence[Sequence[str]] | None = None,
                    historial_aparte: bool = False,
                    nombre: str | None = None,
                    bloque_casillas: int = BLOQUE_CASILLAS,
                    reuso: Callable[[TablaEleccion], ReusoSitio | None] | None = None,
                    ) -> Iterator[tuple[str, bytes]]:
    """Every file of the public site of one corte (``simulacro``: a drill's, every page
    opening with the SIMULACRO banner of :func:`prep.corte.simulacro.stamp_html`), one
    at a time, as each is made (an election's files at once): a corte writes them out
    and drops them instead of holding the whole site (hundreds of megabytes
    nationally). Raises when iterated; :func:`site_files` gives them all at once.

    ``tablas`` maps election code to its table (the ones the CSV was written from);
    ``imagenes`` maps CLAVE_ACTA to (SHA-256 hex, path relative to the corte root such as
    ``imagenes/<sha>.png``); ``descargas`` names extra files at the corte root to offer
    for download (the zip of the package, say) besides the CSV package itself.
    ``historial``: CLAVE_ACTA → its HISTORIAL.csv rows without the key
    (:func:`prep.corte.historial.filas_por_acta`), written per election and bloque of
    secciones (``datos/e<EE>/d<DDD>/h<SSSS>.js``, loaded only by an acta's page) and
    offered for download;
    ``historial_aparte``: HISTORIAL.csv is offered but the caller writes those files
    itself (:func:`prep.corte.site_historial.historial_files`), ``historial`` then being
    ``None``.
    ``salud_catd``: the rows of AVANCE_CATD.csv (:func:`prep.corte.salud_catd.filas_catd`),
    shown as they are by the page ``#/catd`` (``datos/catd.js``) and offered for download.
    ``nombre``: the corte's directory name (default :func:`corte_dirname` of ``corte``),
    which every data file carries so a page never mixes two cortes (docs/sitio.md).
    DIFUSORES.csv among ``descargas`` adds the page ``#/difusores``, which lists what
    :func:`difusores_files` wrote.
    ``bloque_casillas``: the most casillas of a bloque of secciones (:func:`bloques`).
    ``reuso``: per table, the engine's reuse of the previous corte's work
    (:class:`ReusoSitio`; ``None``: made from the rows), for a table whose CSV rows were
    not made as texts (``derived["acta_textos"]``). The bytes are the same either way.
    Yields (path relative to the corte root, always under ``sitio/``, bytes).
    """
    if corte.tzinfo is None:
        raise ValueError("la hora del corte debe llevar zona horaria (UTC)")
    for name in descargas:
        check_path(name, "descarga")
    nombre = corte_dirname(corte) if nombre is None else nombre
    if not NOMBRE_CORTE.fullmatch(nombre):
        raise ValueError(f"nombre de corte no válido: {nombre!r}")
    ordered = _ordered(catalog, tablas)
    corte_text = format_corte_time(corte)
    cache: dict[str, CasillaColumns] = {}
    partes: dict[tuple[str, bool], tuple[str, str] | None] = {}  # textos_json's
    inicios = bloques(catalog, bloque_casillas)
    bloque = bloque_de(catalog, inicios)
    for tabla in ordered:
        yield from _stamped(_election_files(catalog, tabla, imagenes, cache, nombre,
                                            bloque, partes, reuso), simulacro)
        if historial is not None:
            yield from historial_files_from_rows(catalog, tabla, historial, nombre,
                                                 bloque_casillas).items()
    indice = _indice(catalog, ordered, corte, corte_text,
                     (*(() if historial is None and not historial_aparte
                        else (HISTORIAL,)),
                      *(() if salud_catd is None else (AVANCE_CATD,)), *descargas))
    ultimo = any(t.ultimo_corte for t in ordered)
    if ultimo:
        indice["ultimo_corte"] = True
        if any(t.resumen.participacion_base is Base.CON_ESPECIALES for t in ordered):
            indice["nota_participacion"] = NOTA_PARTICIPACION
    out: dict[str, bytes] = {}
    if salud_catd is not None:
        indice["catd"] = True
        out[f"{SITE_DIR}/datos/catd.js"] = data_file("catd", datos_sitio(salud_catd),
                                                     corte=nombre)
    out[f"{SITE_DIR}/datos/indice.js"] = data_file("indice", indice, corte=nombre)
    out[f"{SITE_DIR}/datos/secciones.js"] = data_file(
        "secciones", {"distritos": _secciones(catalog),
                      "bloques": {str(d): v for d, v in sorted(inicios.items())}},
        corte=nombre)
    out[f"{SITE_DIR}/index.html"] = _index_html(catalog, corte_text, indice["descargas"],
                                                ultimo)
    assets = resources.files("prep.corte").joinpath("site_assets")
    for name in ASSETS:
        out[f"{SITE_DIR}/{name}"] = assets.joinpath(name).read_bytes()
    yield from _stamped(out.items(), simulacro)


def _all_at_once(files: Callable[P, Iterator[tuple[str, bytes]]]
                 ) -> Callable[P, dict[str, bytes]]:
    @functools.wraps(files)
    def whole(*args: P.args, **kwargs: P.kwargs) -> dict[str, bytes]:
        return dict(files(*args, **kwargs))
    return whole


site_files = _all_at_once(iter_site_files)
"""Every file of the public site of one corte, at once: :func:`iter_site_files` as
{path relative to the corte root, always under ``sitio/``: bytes}; raises before
returning."""


def difusores_files(difusores: Sequence[FilaDifusor], nombre: str) -> dict[str, bytes]:
    """The site's list of the official difusores (name, URL, witness key) of DIFUSORES.csv
    (:mod:`prep.corte.difusores`), ``datos/difusores.js``, shown by the page
    ``#/difusores`` when DIFUSORES.csv is among the downloads of :func:`site_files`."""
    return {f"{SITE_DIR}/{DIFUSORES_DATOS}": data_file(
        RUTA_DIFUSORES, datos_difusores(difusores), corte=nombre)}


def _stamped(files: Iterable[tuple[str, bytes]], simulacro: bool
             ) -> Iterator[tuple[str, bytes]]:
    """Every page, whoever made it, with the SIMULACRO banner of a drill's."""
    for name, data in files:
        yield name, stamp_html(data, simulacro) if name.endswith(".html") else data


def election_file(codigo: str) -> str:
    """Path (relative to the corte root) of an election's data file."""
    return f"{SITE_DIR}/datos/e{codigo}.js"


def distrito_file(codigo: str, distrito_id: int) -> str:
    """Path (relative to the corte root) of one distrito's data file for an election."""
    return f"{SITE_DIR}/datos/e{codigo}/d{distrito_id:03d}.js"


def bloque_file(codigo: str, distrito_id: int, primera: int) -> str:
    """Path (relative to the corte root) of the acta rows of the bloque of secciones of a
    distrito that starts at sección ``primera`` (:func:`bloques`)."""
    return f"{SITE_DIR}/datos/e{codigo}/d{distrito_id:03d}/s{primera:04d}.js"


def demarcacion_file(codigo: str, demarcacion_id: int) -> str:
    """Path (relative to the corte root) of one demarcación's data file for an election."""
    return f"{SITE_DIR}/datos/e{codigo}/m{demarcacion_id:03d}.js"


def site_columns(csv_columns: Sequence[str]) -> list[str]:
    """The columns of the site's acta rows for an election whose CSV has ``csv_columns``."""
    kept = [c for c in csv_columns if c not in OMITTED_COLUMNS]
    extra = [] if DEMARCACION_COLUMN in kept else [DEMARCACION_COLUMN]
    return kept + extra + list(EXTRA_COLUMNS)


def _ordered(catalog: Catalog, tablas: Mapping[str, TablaEleccion]) -> list[TablaEleccion]:
    missing = [e.nombre for e in catalog.elecciones if e.codigo not in tablas]
    if missing:
        raise ValueError(f"faltan las tablas de: {', '.join(missing)}")
    extra = sorted(set(tablas) - set(catalog.eleccion_por_codigo))
    if extra:
        raise ValueError(f"tablas de elecciones que no están en el catálogo: {extra}")
    return [tablas[e.codigo] for e in catalog.elecciones]


def _election_files(catalog: Catalog, tabla: TablaEleccion,
                    imagenes: Mapping[str, tuple[str, str]],
                    cache: dict[str, CasillaColumns],
                    nombre: str, bloque: Mapping[tuple[int, int], int],
                    partes: dict[tuple[str, bool], tuple[str, str] | None] | None = None,
                    reuso: Callable[[TablaEleccion], ReusoSitio | None] | None = None,
                    ) -> Iterator[tuple[str, bytes]]:
    """An election's data files: the election (entidad), one per distrito (its summary
    and its secciones' summaries), one per bloque of secciones of a distrito (their votes
    and acta rows) and one per demarcación (its secciones; their actas are in the
    distritos' bloques). Each is yielded as soon as it is made (a national election's
    bloques are hundreds of megabytes); the election's own file comes last."""
    eleccion = tabla.eleccion
    votes = VoteIndex(eleccion)
    csv_columns = columns(eleccion)
    keep = [i for i, c in enumerate(csv_columns) if c not in OMITTED_COLUMNS]
    columnas = site_columns(csv_columns)
    if columnas[:2] != ["CLAVE_CASILLA", "CLAVE_ACTA"]:
        raise RuntimeError("las claves deben ser las dos primeras columnas del CSV")
    add_demarcacion = DEMARCACION_COLUMN not in csv_columns
    pick = itemgetter(*keep)
    # The finest partition: (distrito, demarcación, sección); every other area adds these.
    leaves: dict[Hoja, Area] = {}
    rows: dict[tuple[int, int], list[str]] = {}
    piezas: dict[tuple[int, int], list[bytes]] = {}  # the engine's rows instead, UTF-8
    size = len(votes.index)
    textos: list[str | tuple[str, ...]] | None = tabla.derived.get("acta_textos")
    reusado = reuso(tabla) if reuso is not None and textos is None else None

    def add(fila: Fila, csv_row: str | Sequence[str], leaves: dict[Hoja, Area],
            rows: list[str]) -> None:
        casilla = fila.acta.casilla
        key = (casilla.distrito_id, casilla.demarcacion_id,
               MESAS if casilla.mesa else casilla.seccion)
        area = leaves.get(key)
        if area is None:
            area = leaves[key] = Area([0] * size)
        area.add(fila, votes, eleccion.ambito_id(casilla))
        if type(csv_row) is str:  # its JSON already
            rows.append(csv_row)
            return
        row = list(pick(csv_row))
        row[0], row[1] = row[0].strip("'"), row[1].strip("'")  # quotes are for spreadsheets
        if add_demarcacion:
            row.append(str(casilla.demarcacion_id))
        row.append(image_column(fila, imagenes))
        rows.append(row_json(row))

    area_textos: dict[int, tuple[str, str]] = {}
    if reusado is not None:
        area_textos = reusado.hojas(lambda filas: filas_csv(catalog, eleccion, filas, cache),
                                    add, size, bloque, leaves, piezas)
    else:
        if textos is not None:  # the CSV's rows were made as texts (a corte with a memo)
            filas = textos_json(catalog, tabla, textos, imagenes, cache, keep,
                                 add_demarcacion, {} if partes is None else partes)
        for fila, csv_row in zip(tabla.filas, acta_rows(catalog, tabla, cache)
                                 if textos is None else filas, strict=True):
            casilla = fila.acta.casilla
            add(fila, csv_row, leaves, rows.setdefault(
                (casilla.distrito_id, bloque[(casilla.distrito_id, casilla.seccion)]), []))
    memoria = None if reusado is None else reusado.memoria()
    niveles = Niveles(catalog, tabla, leaves, size, area_textos, memoria)
    columnas_json = compact_json(columnas)
    # Each bloque's rows, dropped once its file is made.
    por_filas: dict[tuple[int, int], list[str]] | dict[tuple[int, int], list[bytes]] = \
        piezas if piezas else rows
    for distrito_id, area in niveles.distritos.items():
        distrito = catalog.distrito_por_id[distrito_id]
        secciones = niveles.secciones_texto(distrito_id, 0)
        # What the distrito's page shows of each sección; the rest is in its bloque.
        resumenes = niveles.secciones_texto(distrito_id, 0, resumen=True)
        yield distrito_file(eleccion.codigo, distrito_id), data_file(
            f"e{eleccion.codigo}/d{distrito_id:03d}", {
                "eleccion": eleccion.codigo, "distrito": distrito_id,
                "cabecera": distrito.cabecera, **niveles.json(area),
                "demarcaciones": niveles.otros(distrito_id, 0)},
            {"secciones": ("[", list(resumenes.values()), "]")}, corte=nombre)
        por_bloque: dict[int, list[str]] = {}
        for s, item in secciones.items():
            por_bloque.setdefault(bloque[(distrito_id, s)], []).append(item)
        for primera, items in por_bloque.items():
            yield bloque_file(eleccion.codigo, distrito_id, primera), data_file(
                f"e{eleccion.codigo}/d{distrito_id:03d}/s{primera:04d}", {
                    "eleccion": eleccion.codigo, "distrito": distrito_id, "bloque": primera},
                {"secciones": ("[", items, "]"), "columnas": columnas_json,
                 "actas": ("[", por_filas.pop((distrito_id, primera)), "]")},
                corte=nombre)
    for dem_id, area in niveles.demarcaciones.items():
        yield demarcacion_file(eleccion.codigo, dem_id), data_file(
            f"e{eleccion.codigo}/m{dem_id:03d}", {
                "eleccion": eleccion.codigo, "demarcacion": dem_id,
                "nombre": catalog.demarcacion_por_id[dem_id].nombre, **niveles.json(area),
                "distritos": niveles.otros(dem_id, 1)},
            {"secciones": ("[", list(niveles.secciones_texto(dem_id, 1).values()), "]")},
            corte=nombre)
    if reusado is not None:
        reusado.guardar(niveles.textos)
    _check_totals(tabla, niveles.entidad)
    claves = eleccion.campos_voto
    yield election_file(eleccion.codigo), data_file(f"e{eleccion.codigo}", {
        "codigo": eleccion.codigo, "nombre": eleccion.nombre, "ambito": str(eleccion.ambito),
        "suplente": bool(eleccion.suplente), "campos": list(eleccion.campos_captura),
        "asociaciones": _asociaciones(eleccion),
        "contendientes": {str(k): [c.json(claves) for c in v.candidaturas]
                       for k, v in sorted(niveles.contiendas.items())},
        "resumen": list(tabla.resumen.values()), **niveles.json(niveles.entidad, resumen=False),
        "observaciones": observaciones_por_valor(tabla),
        "distritos": niveles.lista(niveles.distritos, Ambito.DISTRITO, lambda i: {
            "cabecera": catalog.distrito_por_id[i].cabecera}),
        "demarcaciones": niveles.lista(niveles.demarcaciones, Ambito.DEMARCACION, lambda i: {
            "nombre": catalog.demarcacion_por_id[i].nombre}),
        "mesas": mesas_json(tabla, niveles)}, corte=nombre)


def mesas_json(tabla: TablaEleccion, niveles: Niveles) -> dict[str, Any]:
    """The election's mesas (voto anticipado, prisión preventiva, extranjero), which are
    in no sección: each acta as [CLAVE_ACTA, TIPO_CASILLA, distrito, demarcación], and,
    in an election decided in the whole entity, their summary (they count there alone)."""
    actas = [[f.acta.clave, f.acta.casilla.tipo, f.acta.casilla.distrito_id,
              f.acta.casilla.demarcacion_id] for f in tabla.filas if f.acta.casilla.mesa]
    out: dict[str, Any] = {"actas": actas}
    if niveles.mesas is not None:
        out["resumen"] = niveles.mesas.resumen()
    return out


def observaciones_por_valor(tabla: TablaEleccion) -> list[list[str | int]]:
    """How many actas of the catalog the CSV publishes with each OBSERVACIONES value (as
    published, combinations apart: ``Excede Lista Nominal, Sin dato``), most first:
    the count behind PORCENTAJE_ACTAS_INCONSISTENCIAS, per category."""
    cuenta: dict[str, int] = {}
    for fila in tabla.filas:
        res = fila.resultado
        if res is not None and res.observaciones:
            cuenta[res.observaciones] = cuenta.get(res.observaciones, 0) + 1
    return [[valor, n] for valor, n in sorted(cuenta.items(), key=lambda p: (-p[1], p[0]))]


def _check_totals(tabla: TablaEleccion, entidad: Area) -> None:
    """The areas add up to the CSV's summary, or the site would contradict the CSV."""
    r = tabla.resumen
    mine = (entidad.esperadas, entidad.capturadas, entidad.contabilizadas,
            entidad.inconsistencias, entidad.lista, entidad.c_cs, entidad.s_cs,
            sum(entidad.votos))
    theirs = (r.esperadas, r.capturadas, r.contabilizadas, r.inconsistencias,
              r.lista_nominal_contabilizadas, r.votos_c_cs, r.votos_s_cs, r.votos_c_cs)
    if mine != theirs:
        raise ValueError(f"{tabla.eleccion.nombre}: las sumas por distrito {mine} no "
                         f"coinciden con el resumen del CSV {theirs}")


def _asociaciones(eleccion: Eleccion) -> list[dict[str, Any]]:
    """The vote fields of an election with their names, in ballot order."""
    out: list[dict[str, Any]] = [
        {"clave": a.clave, "nombre": a.nombre, "tipo": str(a.tipo),
         "partidos": list(a.partidos)} for a in eleccion.asociaciones]
    out.append({"clave": "NO_REGISTRADAS", "nombre": "Candidaturas no registradas",
                "tipo": "otro", "partidos": []})
    out.append({"clave": "NULOS", "nombre": "Votos nulos", "tipo": "otro", "partidos": []})
    return out


def _indice(catalog: Catalog, tablas: Iterable[TablaEleccion], corte: datetime,
            corte_text: str, descargas: Sequence[str]) -> dict[str, Any]:
    elecciones = []
    archivos: list[dict[str, str]] = []
    for tabla in tablas:
        e = tabla.eleccion
        resultados, candidaturas = csv_name(e), candidaturas_csv_name(e)
        elecciones.append({"codigo": e.codigo, "nombre": e.nombre,
                           "csv": resultados, "candidaturas": candidaturas})
        archivos.append({"archivo": resultados,
                         "titulo": f"Resultados por acta: {_titulo(e.nombre)} (CSV)"})
        archivos.append({"archivo": candidaturas,
                         "titulo": f"Candidaturas: {_titulo(e.nombre)} (CSV)"})
    archivos.append({"archivo": LEEME, "titulo": "Descripción de los archivos y sus columnas"})
    archivos.append({"archivo": MANIFEST,
                     "titulo": "Códigos de integridad (SHA-256) de todos los archivos"})
    for name in descargas:
        publicado = registrado(name)  # HISTORIAL.csv, AVANCE_CATD.csv… (prep.corte.archivos)
        titulo = None if publicado is None else publicado.titulo
        if titulo is not None:
            archivos.append({"archivo": name, "titulo": titulo})
            continue
        kind = "ZIP" if name.lower().endswith(".zip") else name.rsplit(".", 1)[-1].upper()
        archivos.append({"archivo": name, "titulo": f"{name} ({kind})"})
    return {
        "formato": FORMATO, "entidad": catalog.entidad, "id_entidad": catalog.entidad_id,
        "fecha_eleccion": catalog.fecha_eleccion, "corte": corte_text,
        "corte_local": f"{corte.astimezone(TZ):%Y-%m-%dT%H:%M%z}",
        "resumen_columnas": list(RESUMEN_COLUMNS), "elecciones": elecciones,
        "distritos": [{"id": d.id, "cabecera": d.cabecera} for d in catalog.distritos],
        "demarcaciones": [{"id": d.id, "nombre": d.nombre} for d in catalog.demarcaciones],
        "demarcacion": _etiqueta_demarcacion(catalog),
        "descargas": archivos,
    }


#: Under the entidad's participación in the último corte, when it counts the especiales.
NOTA_PARTICIPACION = (
    "Último corte: la participación ciudadana de la entidad cuenta los votos de las "
    "casillas especiales (TOTAL_VOTOS_C_CS). La de cada distrito, alcaldía y sección no "
    "los cuenta: una casilla especial no tiene lista nominal propia.")

def _etiqueta_demarcacion(catalog: Catalog) -> dict[str, str]:
    """What a demarcación is called: an alcaldía in Ciudad de México (entidad 9), a
    municipio elsewhere."""
    if catalog.entidad_id == 9:
        return {"singular": "Alcaldía", "plural": "Alcaldías"}
    return {"singular": "Municipio", "plural": "Municipios"}


_MINUSCULAS = frozenset({"DE", "LA", "DEL", "Y", "EL", "LOS", "LAS", "EN", "A"})


def _titulo(nombre: str) -> str:
    """``CIUDAD DE MÉXICO`` → ``Ciudad de México``, ``DIPUTACIONES LOCALES MR`` →
    ``Diputaciones Locales MR`` (the same rule as ``titulo`` in app.js)."""
    words = []
    for i, w in enumerate(nombre.split()):
        if i > 0 and w in _MINUSCULAS:
            words.append(w.lower())
        elif len(w) <= 2 and w.isupper() and w not in _MINUSCULAS:
            words.append(w)
        else:
            words.append(w[:1] + w[1:].lower())
    return " ".join(words)


def _secciones(catalog: Catalog) -> dict[str, list[list[int]]]:
    """distrito id → its secciones as inclusive [first, last] runs, for the search."""
    por_distrito: dict[int, list[int]] = {}
    for distrito_id, seccion in sorted(catalog.secciones):
        por_distrito.setdefault(distrito_id, []).append(seccion)
    out: dict[str, list[list[int]]] = {}
    for distrito_id, secciones in por_distrito.items():
        runs: list[list[int]] = []
        for s in secciones:
            if runs and runs[-1][1] == s - 1:
                runs[-1][1] = s
            else:
                runs.append([s, s])
        out[str(distrito_id)] = runs
    return out


def _index_html(catalog: Catalog, corte_text: str, archivos: list[dict[str, str]],
                ultimo: bool = False) -> bytes:
    """The page shell; corte time and downloads are in the HTML so they show without JS."""
    template = resources.files("prep.corte").joinpath("site_assets/index.html").read_text(
        encoding="utf-8")
    enlaces = "\n".join(
        f'          <li><a href="../{html.escape(a["archivo"])}">{html.escape(a["titulo"])}'
        f"</a></li>" for a in archivos)
    page = (template.replace("{{CSP}}", html.escape(CONTENT_SECURITY_POLICY, quote=False))
            .replace("{{ENTIDAD}}", html.escape(_titulo(catalog.entidad)))
            .replace("{{ANIO}}", html.escape(catalog.fecha_eleccion[:4]))
            .replace("{{CORTE}}", html.escape(corte_text))
            .replace("{{ULTIMO}}", '\n        <strong class="corte-ultimo">Último corte</strong>'
                     if ultimo else "")
            .replace("{{DESCARGAS}}", enlaces))
    return page.encode("utf-8")
