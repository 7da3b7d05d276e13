"""What the public site of a running central's corte takes from the previous corte
instead of making it again: the engine's side of :mod:`prep.corte.site`.

A running central's corte is made tramo by tramo (:mod:`prep.corte.tramos`): a tramo none
of whose actas changed keeps its piece of the previous corte. :class:`SitioPorTramos` is
the site's :class:`~prep.corte.site.ReusoSitio` for a table made so
(:func:`sitio_por_tramos`, which the publishing central hands to
:func:`prep.corte.site.iter_site_files`): :func:`por_tramos` gives the site an
election's leaf areas (distrito, demarcación, sección) and acta rows from those pieces,
making again only the changed tramos' with the site's own plain ``add`` (from the CSV
rows the CSV made), and :func:`guardar_textos` keeps this corte's JSON texts of the leaf
areas in the pieces for the next corte. The site never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence

from prep.corte.site import Agregar
from prep.corte.site import Hoja
from prep.corte.site_areas import Area
from prep.corte.site_areas import Memoria
from prep.corte.site_areas import ajustar
from prep.corte.site_areas import combine
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion
from prep.corte.tramos import Combinada
from prep.corte.tramos import Tramos


class SitioPorTramos:
    """The site's :class:`~prep.corte.site.ReusoSitio` of a table made tramo by tramo."""

    def __init__(self, tabla: TablaEleccion, tramos: Tramos) -> None:
        self._tabla = tabla
        self._tramos = tramos

    def hojas(self, hacer: Callable[[Sequence[Fila]], Sequence[Sequence[str]]],
              add: Agregar, size: int, bloque: Mapping[tuple[int, int], int],
              leaves: dict[Hoja, Area], rows: dict[tuple[int, int], list[bytes]],
              ) -> dict[int, tuple[str, str]]:
        return por_tramos(self._tramos, self._tabla, hacer, add, size, bloque, leaves,
                          rows)

    def memoria(self) -> Memoria:
        if self._tramos.niveles is None:
            self._tramos.niveles = Memoria()
        memoria: Memoria = self._tramos.niveles
        return memoria

    def guardar(self, textos: Mapping[int, tuple[str, str]]) -> None:
        guardar_textos(self._tramos, textos)


def sitio_por_tramos(tabla: TablaEleccion) -> SitioPorTramos | None:
    """The reuse of ``tabla``'s site work if it was made by tramos
    (``derived["tramos"]``, :func:`prep.corte.paquete_tramos.tabulate`), else ``None``
    (the site makes it from the rows)."""
    tramos: Tramos | None = tabla.derived.get("tramos")
    return None if tramos is None else SitioPorTramos(tabla, tramos)


def por_tramos(tramos: Tramos, tabla: TablaEleccion,
               hacer: Callable[[Sequence[Fila]], Sequence[Sequence[str]]],
               add: Agregar,
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
