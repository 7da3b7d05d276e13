"""What the public site takes from the CSV of its corte instead of making it again.

A running central's corte is made tramo by tramo (:mod:`prep.corte.tramos`): a tramo none
of whose actas changed keeps its piece of the previous corte. :func:`por_tramos` gives
:mod:`prep.corte.site` an election's leaf areas (distrito, demarcación, sección) and acta
rows from those pieces, making again only the changed tramos' (from the CSV rows the CSV
made), and :func:`guardar_textos` keeps this corte's JSON texts of the leaf areas in the
pieces for the next corte. A corte whose CSV rows were made as texts instead (a render
memo, :func:`prep.corte.anexo.acta_textos`) gets its acta rows from those texts
(:func:`textos_json`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence

from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.corte.anexo import SEP
from prep.corte.anexo import CasillaColumns
from prep.corte.anexo import casilla_columns
from prep.corte.anexo import columns
from prep.corte.anexo import columns_before
from prep.corte.anexo import full_row
from prep.corte.site_areas import Area
from prep.corte.site_areas import ajustar
from prep.corte.site_areas import combine
from prep.corte.site_datos import PLAIN_JSON
from prep.corte.site_datos import image_column
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion
from prep.corte.tramos import Combinada
from prep.corte.tramos import Tramos

Hoja = tuple[int, int, int]  # (distrito, demarcación, sección): a leaf area's key


def por_tramos(tramos: Tramos, tabla: TablaEleccion,
               hacer: Callable[[Sequence[Fila]], Sequence[Sequence[str]]],
               add: Callable[[Fila, str | Sequence[str], dict[Hoja, Area], list[str]], None],
               size: int, bloque: Mapping[tuple[int, int], int], leaves: dict[Hoja, Area],
               rows: dict[tuple[int, int], list[bytes]]) -> dict[int, tuple[str, str]]:
    """The leaves and acta rows of an election's site files (:mod:`prep.corte.site`,
    whose ``add`` adds an acta to them) tramo by tramo (:mod:`prep.corte.tramos`): the
    previous corte's of a tramo none of whose actas changed, made again (and kept in its
    piece) otherwise, from the CSV rows the CSV made (``hacer`` makes them where it did
    not). Returns the JSON texts of the leaf areas kept from earlier cortes
    (``site_areas.Niveles``' ``textos``)."""
    hechas: Mapping[int, Sequence[Sequence[str]]] = tabla.derived.get("filas_tramo", {})
    partes: dict[Hoja, list[Area]] = {}
    textos: dict[int, tuple[str, str]] = {}
    nuevas = tramos.hechas()
    for i, pieza in enumerate(nuevas):
        if pieza.hojas is None or pieza.sitio is None:
            hojas: dict[Hoja, Area] = {}
            json_rows: list[str] = []
            csv_rows = hechas.get(i)
            for fila, csv_row in zip(pieza.filas, hacer(pieza.filas) if csv_rows is None
                                     else csv_rows, strict=True):
                add(fila, csv_row, hojas, json_rows)
            for area in hojas.values():
                area.congelar(tramos.conjuntos)
            if len(hojas) == 1:
                _compartir(next(iter(hojas.values())), pieza.cuentas)
            pieza.hojas, pieza.sitio, pieza.textos = (tuple(hojas.items()),
                                                      ",".join(json_rows).encode(), None)
    # Every piece is made: gather them (one loop of few operations, half a million
    # actas' tramos nationally).
    parte = partes.get
    for pieza in nuevas:
        ya = pieza.textos
        for k, (key, area) in enumerate(pieza.hojas):  # type: ignore[arg-type]
            lista = parte(key)
            if lista is None:
                partes[key] = [area]
            else:
                lista.append(area)
            if ya:
                texto = ya[k]
                if texto is not None:
                    textos[id(area)] = texto
    # The tramos of a bloque are consecutive: one list per run, read at once.
    for clave, textos_ in tramos.grupos("sitio", [(d, bloque[(d, s)])
                                                  for d, s in tramos.rangos.secciones]):
        rows.setdefault(clave, []).extend(textos_)
    tramos.guardar("sitio")
    for key, areas in partes.items():
        if len(areas) == 1:
            leaves[key] = areas[0]
            continue
        # A sección in several tramos: its sum of the previous corte if made from the
        # very same parts.
        hecha = tramos.combinadas.get(key)
        suma = None if hecha is None else ajustar(hecha.partes, hecha.suma, areas)
        if hecha is None or suma is not hecha.suma:
            hecha = tramos.combinadas[key] = Combinada(
                areas, combine(areas, size) if suma is None else suma)
        elif hecha.texto is not None:
            textos[id(hecha.suma)] = hecha.texto
        leaves[key] = hecha.suma
    return textos


def _compartir(area: Area, cuentas: tuple[int, ...]) -> None:
    """A tramo's only area holds the very numbers of its piece's counts (lista nominal,
    votes with and without casillas especiales) where they are equal: the same actas'
    sums, three int objects fewer per tramo kept between cortes (176,000 nationally)."""
    _, _, _, lista, c_cs, s_cs = cuentas
    if area.lista == lista and area.c_cs == c_cs and area.s_cs == s_cs:
        area.lista, area.c_cs, area.s_cs = lista, c_cs, s_cs


def guardar_textos(tramos: Tramos, textos: Mapping[int, tuple[str, str]]) -> None:
    """Keep the JSON texts of the leaf areas made by this corte (``textos``, by id) in
    their pieces, for the next corte."""
    for pieza in tramos.nuevas:
        if pieza is not None and pieza.hojas is not None and pieza.textos is None:
            hechos = tuple(textos.get(id(area)) for _, area in pieza.hojas)
            pieza.textos = hechos if any(hechos) else ()
    for hecha in tramos.combinadas.values():
        if hecha.texto is None:
            hecha.texto = textos.get(id(hecha.suma))


def textos_json(catalog: Catalog, tabla: TablaEleccion,
                textos: Sequence[str | tuple[str, ...]],
                imagenes: Mapping[str, tuple[str, str]], cache: dict[str, CasillaColumns],
                keep: Sequence[int], add_demarcacion: bool,
                partes: dict[tuple[str, bool], tuple[str, str] | None],
                ) -> Iterator[str | tuple[str, ...]]:
    """Each acta's row on the site from its text (:func:`prep.corte.anexo.acta_textos`,
    which holds no value JSON escapes): the JSON :mod:`prep.corte.site` makes of its
    CSV row, when no key column needs escaping either; the CSV row otherwise.
    ``partes``: each casilla's shown key columns, kept for the corte's elections."""
    n = len(columns_before(tabla.eleccion))  # the key columns, TIPO_ACTA the last
    width = len(columns(tabla.eleccion))
    claves = [i for i in keep if i < n]
    # The layout this takes: both claves first and TIPO_ACTA last of the key columns
    # shown, some between them, then every column after them.
    if claves[:2] != [0, 1] or claves[-1:] != [n - 1] or len(claves) < 4 \
            or list(keep[len(claves):]) != list(range(n, width)):
        for fila, texto in zip(tabla.filas, textos, strict=True):
            yield full_row(catalog, tabla, fila, texto, cache)
        return
    demarcacion = tabla.eleccion.ambito is Ambito.DEMARCACION
    # The shown ones between CLAVE_ACTA and TIPO_ACTA, in the casilla's columns (those
    # after CLAVE_ACTA).
    ubicacion = [i - 2 for i in claves[2:-1]]
    for fila, texto in zip(tabla.filas, textos, strict=True):
        acta = fila.acta
        if isinstance(texto, str):
            casilla = acta.casilla
            parte = partes.get((casilla.clave, demarcacion), _FALTA)
            if parte is _FALTA:
                cols = casilla_columns(catalog, casilla, cache)
                lugar = cols[2] if demarcacion else cols[1]
                valores = [cols[0].strip("'"), *(lugar[i] for i in ubicacion)]
                parte = partes[(casilla.clave, demarcacion)] = (
                    valores[0], "".join(f'","{v}' for v in valores[1:])) \
                    if PLAIN_JSON.fullmatch("".join(valores)) else None
            clave = f"'{acta.clave}'".strip("'")
            imagen = image_column(fila, imagenes)
            fin = f'{casilla.demarcacion_id}","{imagen}' if add_demarcacion else imagen
            if parte is not None and PLAIN_JSON.fullmatch(clave + acta.tipo_acta + imagen):
                yield (f'["{parte[0]}","{clave}{parte[1]}","{acta.tipo_acta}",'
                       f'"{texto.replace(SEP, _COMA_JSON)}","{fin}"]')
                continue
        yield full_row(catalog, tabla, fila, texto, cache)


_COMA_JSON = '","'
_FALTA = ("", "")  # not looked up yet
