"""The package of a running central's corte made tramo by tramo (:mod:`prep.corte.tramos`):
the elections' tables, their CSVs' acta lines and AVANCE_CATD's counts, each tramo's
taken from its piece of the previous corte where none of its actas changed and made
again by the plain arithmetic otherwise.

This is the engine's side: it calls :mod:`prep.corte.summary`, :mod:`prep.corte.anexo`
and :mod:`prep.corte.salud_catd`, which never import it nor the tramos (an import
contract in pyproject.toml keeps it so). Each function gives the same table, bytes or
rows as its plain namesake there, which is what a corte without tramos publishes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from prep.catalog.model import Acta
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte import anexo
from prep.corte import salud_catd
from prep.corte import summary
from prep.corte.anexo import CasillaColumns
from prep.corte.anexo import ClavesCsv
from prep.corte.archivo import Archivo
from prep.corte.archivo import Fuente
from prep.corte.archivo import Tramo
from prep.corte.historial import HISTORIAL
from prep.corte.insumos import Insumo
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import Avance
from prep.corte.salud_catd import LecturaCatd
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion
from prep.corte.tramos import Pieza
from prep.corte.tramos import Tramos
from prep.corte.tramos import rangos
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

#: Per file the engine makes by name (its registry entry's ``nombre``), the outputs of
#: the tramos' :class:`~prep.corte.tramos.Pieza` that are its text (``tramos.CAMPOS``):
#: each kept and made again by that file's own declaration.
SALIDAS: dict[str, tuple[str, ...]] = {
    "<ELECCION>.csv": ("filas",),
    HISTORIAL: ("historial",),
    AVANCE_CATD: ("avance",),
    "sitio/": ("historial_sitio", "sitio"),
}


def declarados_pieza(hechos: Sequence[Archivo]) -> dict[str, frozenset[Insumo]]:
    """Per output of the piece, the per-acta inputs its file (among ``hechos``, the
    files the engine makes by name) declares its tramos read: what
    :meth:`prep.corte.tramos.Secciones.preparar` keys it by."""
    out: dict[str, frozenset[Insumo]] = {}
    for archivo in hechos:
        for campo in SALIDAS.get(archivo.nombre, ()):
            out[campo] = (archivo.lee_tramo or archivo.lee).actas
    return out


def tabulate(eleccion: Eleccion, actas: Sequence[Acta], estado: Mapping[str, ActaEnCorte],
             fuera: Sequence[FueraDeCatalogo], rules: RuleSet, ultimo_corte: bool,
             tramos: Tramos) -> TablaEleccion:
    """:func:`prep.corte.summary.tabulate` tramo by tramo: the previous corte's rows and
    counts of each tramo none of whose actas changed, reused whole; the table keeps the
    tramos (``derived["tramos"]``) for the files made from it."""
    filas: list[Fila] = []
    partes: list[tuple[int, ...]] = []
    for i, (a, b) in enumerate(tramos.rangos.limites):
        pieza = tramos.previa(i)
        if pieza is None:
            propias, suyas = summary.filas_y_cuentas(eleccion, actas[a:b], estado, rules)
            pieza = Pieza(tuple(propias), (suyas[0], suyas[1], suyas[2], suyas[3],
                                           suyas[4], suyas[5]))
            tramos.poner(i, pieza)
        filas.extend(pieza.filas)
        partes.append(pieza.cuentas)
    cuentas = [sum(columna) for columna in zip(*partes, strict=True)] or [0] * 6
    if len(filas) != len(actas):
        raise ValueError(f"{eleccion.nombre}: los tramos no cubren las actas")
    tabla = summary.tabla_de(eleccion, filas, cuentas, fuera, rules, ultimo_corte)
    tabla.derived["tramos"] = tramos
    return tabla


def tabular(catalog: Catalog, estado: Mapping[str, ActaEnCorte],
            fuera: Sequence[FueraDeCatalogo], rules: RuleSet = DEFAULT_RULES,
            ultimo_corte: bool = False, memo: MutableMapping[str, Any] | None = None,
            tramos: Mapping[str, Tramos] | None = None) -> tuple[TablaEleccion, ...]:
    """The table of every election of the catalog, in catalog order: per tramo
    (:func:`tabulate`) with ``tramos`` (per election code), else
    :func:`prep.corte.summary.tabulate` (with ``memo``)."""
    if tramos is None:
        return tuple(summary.tabulate(e, catalog.actas(e), estado, fuera, rules,
                                      ultimo_corte, memo) for e in catalog.elecciones)
    return tuple(tabulate(e, catalog.actas(e), estado, fuera, rules, ultimo_corte,
                          tramos[e.codigo]) for e in catalog.elecciones)


def eleccion_csv_partes(catalog: Catalog, tabla: TablaEleccion, corte: datetime,
                        cache: dict[str, CasillaColumns] | None = None,
                        simulacro: bool = False,
                        memo: MutableMapping[str, Any] | None = None,
                        claves: ClavesCsv | None = None,
                        tope: int | None = None) -> Iterator[bytes]:
    """:func:`prep.corte.anexo.eleccion_csv_partes`, with a table made by tramos
    (``derived["tramos"]``, and no ``memo``) their lines as the carrete gives them, at
    most ``tope`` bytes each (``None``: any size). Consume it whole."""
    tramos: Tramos | None = tabla.derived.get("tramos")
    if tramos is None or memo is not None:
        yield from anexo.eleccion_csv_partes(catalog, tabla, corte, cache, simulacro, memo,
                                             claves)
        return
    yield anexo.encabezado_csv(tabla, corte, simulacro)
    yield from tramo_lines(catalog, tabla, tramos, {} if cache is None else cache, tope)
    yield anexo.fuera_csv(catalog, tabla)


def write_eleccion_csv(catalog: Catalog, tabla: TablaEleccion, corte: datetime,
                       cache: dict[str, CasillaColumns] | None = None,
                       simulacro: bool = False,
                       memo: MutableMapping[str, Any] | None = None,
                       claves: ClavesCsv | None = None) -> bytes:
    """:func:`prep.corte.anexo.write_eleccion_csv` of a table made by tramos or not."""
    return b"".join(eleccion_csv_partes(catalog, tabla, corte, cache, simulacro, memo,
                                        claves))


def tramo_lines(catalog: Catalog, tabla: TablaEleccion, tramos: Tramos,
                cache: dict[str, CasillaColumns], tope: int | None = None
                ) -> Iterator[bytes]:
    """The CSV lines of ``tabla``'s actas (UTF-8) tramo by tramo: a tramo's lines of the
    previous corte where none of its actas changed, made again otherwise (and kept in
    its piece, then in the carrete: ``Tramos.guardar``); the rows made again are left
    in ``tabla.derived["filas_tramo"]`` (tramo → rows) for the site. ``tope``: the most
    bytes of one piece (``Tramos.partes``)."""
    width = len(anexo.columns(tabla.eleccion))
    hechas: dict[int, list[tuple[str, ...]]] = {}
    tabla.derived["filas_tramo"] = hechas
    for i, pieza in enumerate(tramos.hechas()):
        if pieza.csv is None:
            rows = anexo.filas_csv(catalog, tabla.eleccion, pieza.filas, cache)
            hechas[i] = rows
            text = anexo.plain_csv_lines(rows, width)
            if text is None:
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\r\n",
                           quoting=csv.QUOTE_MINIMAL).writerows(rows)
                text = buf.getvalue()
            pieza.csv = text.encode("utf-8")
    yield from tramos.partes("csv", tope)
    tramos.guardar("csv")


def filas_catd(catalog: Catalog, tablas: Sequence[TablaEleccion], lectura: LecturaCatd,
               publicada_en: Mapping[str, tuple[str, datetime]], corte_at: datetime,
               tramos: Mapping[str, Tramos] | None = None) -> list[tuple[str, ...]]:
    """:func:`prep.corte.salud_catd.filas_catd`; with ``tramos`` (per election), the
    :class:`~prep.corte.salud_catd.Avance` the previous corte took from each tramo
    none of whose actas changed, reused, the rest taken again (and kept in its piece)."""
    if tramos is None:
        return salud_catd.filas_catd(catalog, tablas, lectura, publicada_en, corte_at)
    segundos: dict[datetime, int] = {}

    def avances(t: Tramos) -> list[Avance]:
        return [p.avance if p.avance is not None
                else _tomar(p, lectura, publicada_en, corte_at, segundos) for p in t.hechas()]

    return salud_catd.filas_de_avances(catalog, lectura, corte_at, (
        zip(map(itemgetter(0), t.rangos.secciones), avances(t), strict=True)
        for t in map(tramos.__getitem__, (tabla.eleccion.codigo for tabla in tablas))))


def _tomar(pieza: Pieza, lectura: LecturaCatd,
           publicada_en: Mapping[str, tuple[str, datetime]], corte_at: datetime,
           segundos: dict[datetime, int]) -> Avance:
    avance = pieza.avance = salud_catd.avance_de(pieza.filas, lectura, publicada_en,
                                                 corte_at, segundos)
    return avance


def archivo_por_tramos(archivo: Archivo, fuente: Fuente, esta: tuple[str, datetime],
                       valores: Mapping[Insumo, Callable[[str], Any]],
                       tramos: Mapping[str, Tramos] | None = None) -> bytes:
    """The text of ``archivo``, a file the registry makes per tramo
    (:attr:`prep.corte.archivo.Archivo.tramo`): its header, then every election's
    tramos in catalog order. With ``tramos`` (the engine's), a tramo's text of the
    previous corte is taken where the inputs the file declared did not change
    (:meth:`Tramos.texto_previo`) and the rest made from the values the engine keeps;
    without, every tramo is made from ``valores`` (the snapshot's, per input).
    ``esta``: this corte's name and instant, the first publication of an acta published
    now that no corte recorded yet (:data:`prep.corte.insumos.Insumo.PUBLICADA_EN`)."""
    if archivo.tramo is None:
        raise ValueError(f"{archivo.nombre} no se hace por tramos")
    partes = [archivo.cabecera(fuente)]
    for eleccion in fuente.catalog.elecciones:
        actas = fuente.catalog.actas(eleccion)
        t = None if tramos is None else tramos[eleccion.codigo]
        limites = rangos(actas).limites if t is None else t.rangos.limites
        for i, (a, b) in enumerate(limites):
            data = None if t is None else t.texto_previo(archivo.nombre, i)
            if data is None:
                suyas = actas[a:b]
                de: Mapping[Insumo, Sequence[Any]] = (
                    {k: v[a:b] for k, v in t.insumos.items()} if t is not None else
                    {k: [f(acta.clave) for acta in suyas] for k, f in valores.items()})
                data = archivo.tramo(Tramo(eleccion, suyas, _con_esta(de, esta)))
                if t is not None:
                    t.poner_texto(archivo.nombre, i, data)
            partes.append(data)
    return b"".join(partes)


def _con_esta(valores: Mapping[Insumo, Sequence[Any]], esta: tuple[str, datetime]
              ) -> Mapping[Insumo, Sequence[Any]]:
    """``valores`` with this corte (``esta``) as the first publication of each acta
    published now that no corte recorded yet: the value the next corte reads from the
    database, so a text made of it stays true (prep.corte.tramos.Secciones.cerrar)."""
    publicadas = valores.get(Insumo.PUBLICADA_EN)
    if publicadas is None:
        return valores
    estados = valores[Insumo.ESTADO]
    return {**valores, Insumo.PUBLICADA_EN: [
        esta if p is None and e is not None and e.publicada else p
        for p, e in zip(publicadas, estados, strict=True)]}
