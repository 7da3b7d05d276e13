"""Corte arithmetic: the per-election summary with exact, truncated percentages.

Every percentage is count × 100 / base truncated (never rounded) to four decimals, in
integer arithmetic: binary floats would turn 12.34569 into 12.3457 or 12.3456 depending
on luck, and a published figure must be reproducible by anyone with the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from prep.catalog.model import Acta
from prep.catalog.model import Eleccion
from prep.corte.insumos import igual
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.rules import DEFAULT_RULES
from prep.rules import ActaResult
from prep.rules import Base
from prep.rules import RuleSet
from prep.rules import evaluate
from prep.rules import sin_acta

DECIMALS = 4
#: ``FueraDeCatalogo.eleccion`` of a registration whose election was not identified.
SIN_ELECCION = ""
_SCALE = 10**DECIMALS
#: The decimals of a percentage as text, ``"0000"``…``"9999"``: a corte writes a few
#: hundred thousand percentages, and a lookup is cheaper than formatting each.
DECIMALES: tuple[str, ...] = tuple(f"{n:0{DECIMALS}d}" for n in range(_SCALE))

#: The summary's columns (line 4 of an election CSV; line 5 their values, in this
#: order: :meth:`Resumen.valores`), each with its description in LEEME.txt (where the
#: Consejo's rules do not change it: prep.corte.leeme_reglas).
RESUMEN: dict[str, str] = {
    "ACTAS_ESPERADAS": "Número de actas de las casillas aprobadas por el Consejo para esta "
                       "elección.",
    "ACTAS_REGISTRADAS": "Actas capturadas más actas fuera de catálogo.",
    "ACTAS_FUERA_CATALOGO": "Actas recibidas cuyo código no corresponde a ninguna acta del "
                            "catálogo; no se contabilizan.",
    "ACTAS_CAPTURADAS": "Actas del catálogo con datos publicados (incluye las registradas "
                        "Sin Acta).",
    "PORCENTAJE_ACTAS_CAPTURADAS": "ACTAS_CAPTURADAS × 100 / ACTAS_ESPERADAS, truncado a "
                                   "cuatro decimales (no redondeado).",
    "ACTAS_CONTABILIZADAS": "Actas capturadas cuyos votos se suman a los resultados.",
    "PORCENTAJE_ACTAS_CONTABILIZADAS": "ACTAS_CONTABILIZADAS × 100 / ACTAS_ESPERADAS, "
                                       "truncado a cuatro decimales.",
    "PORCENTAJE_ACTAS_INCONSISTENCIAS": "Actas con OBSERVACIONES × 100 / ACTAS_ESPERADAS, "
                                        "truncado a cuatro decimales.",
    "ACTAS_NO_CONTABILIZADAS": "ACTAS_CAPTURADAS − ACTAS_CONTABILIZADAS.",
    "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": "Suma de LISTA_NOMINAL de las actas contabilizadas.",
    "TOTAL_VOTOS_C_CS": "Suma de TOTAL_VOTOS_CALCULADO de las actas contabilizadas, con "
                        "casillas especiales.",
    "TOTAL_VOTOS_S_CS": "Suma de TOTAL_VOTOS_CALCULADO de las actas contabilizadas, sin "
                        "casillas especiales.",
    "PORCENTAJE_PARTICIPACION_CIUDADANA": "TOTAL_VOTOS_S_CS × 100 / "
                                          "LISTA_NOMINAL_ACTAS_CONTABILIZADAS (en el último "
                                          "corte puede usarse TOTAL_VOTOS_C_CS), truncado a "
                                          "cuatro decimales.",
}
RESUMEN_COLUMNS: tuple[str, ...] = tuple(RESUMEN)


def percentage(count: int, base: int) -> str:
    """``count × 100 / base`` truncated to 4 decimals, e.g. ``"12.3456"``; ``base`` 0 → 0."""
    if count < 0 or base < 0:
        raise ValueError("los conteos no pueden ser negativos")
    if base == 0:
        return f"0.{'0' * DECIMALS}"
    entero, decimales = divmod(count * 100 * _SCALE // base, _SCALE)
    return f"{entero}.{DECIMALES[decimales]}"


@dataclass(frozen=True, slots=True)
class Fila:
    """One catalog acta of the corte with what the rules say about it (None: no data)."""

    acta: Acta
    estado: ActaEnCorte | None
    resultado: ActaResult | None


# A Fila made with its slots set directly: a frozen dataclass's __init__ sets each field
# through object.__setattr__, three times slower, and a corte makes one Fila per acta.
_NUEVA = object.__new__
_PONER_ACTA, _PONER_ESTADO, _PONER_RESULTADO = (
    Fila.__dict__[name].__set__ for name in ("acta", "estado", "resultado"))
assert Fila.__slots__ == ("acta", "estado", "resultado"), \
    "Fila fields filas_y_cuentas does not set"


@dataclass(frozen=True, slots=True)
class Resumen:
    """The summary line of an election's CSV (line 5)."""

    esperadas: int
    fuera_catalogo: int
    capturadas: int
    contabilizadas: int
    inconsistencias: int
    lista_nominal_contabilizadas: int
    votos_c_cs: int
    votos_s_cs: int
    participacion_base: Base

    @property
    def registradas(self) -> int:
        return self.capturadas + self.fuera_catalogo

    @property
    def no_contabilizadas(self) -> int:
        return self.capturadas - self.contabilizadas

    def values(self) -> tuple[str, ...]:
        """Line 5, in :data:`RESUMEN_COLUMNS` order."""
        votos = (self.votos_s_cs if self.participacion_base is Base.SIN_ESPECIALES
                 else self.votos_c_cs)
        return (
            str(self.esperadas), str(self.registradas), str(self.fuera_catalogo),
            str(self.capturadas), percentage(self.capturadas, self.esperadas),
            str(self.contabilizadas), percentage(self.contabilizadas, self.esperadas),
            percentage(self.inconsistencias, self.esperadas), str(self.no_contabilizadas),
            str(self.lista_nominal_contabilizadas), str(self.votos_c_cs), str(self.votos_s_cs),
            percentage(votos, self.lista_nominal_contabilizadas),
        )


@dataclass(frozen=True, slots=True)
class TablaEleccion:
    """Everything one election's CSV says: rows in publication order and the summary."""

    eleccion: Eleccion
    filas: tuple[Fila, ...]
    fuera: tuple[FueraDeCatalogo, ...]
    resumen: Resumen
    etiqueta_fuera: str  # OBSERVACIONES of the fuera-de-catálogo rows
    #: OBSERVACIONES of a fuera-de-catálogo row whose election was not identified.
    etiqueta_fuera_sin_eleccion: str
    #: The table is the último corte's (line 2 and the site say so).
    ultimo_corte: bool = False
    #: Work derived once from this table and shared by its readers (the CSV rows the
    #: package and the public site both publish: prep.corte.anexo.acta_rows).
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def tabulate(eleccion: Eleccion, actas: Sequence[Acta], estado: Mapping[str, ActaEnCorte],
             fuera: Sequence[FueraDeCatalogo], rules: RuleSet = DEFAULT_RULES,
             ultimo_corte: bool = False,
             memo: MutableMapping[str, Any] | None = None) -> TablaEleccion:
    """Apply the rules to every acta of ``eleccion`` and compute the summary.

    ``actas`` are the catalog actas of the election in publication order; ``estado`` maps
    CLAVE_ACTA to what is known of it (absent: nothing yet). ``memo``: what the rules
    said of each acta in earlier cortes (by CLAVE_ACTA; filled under the same catalog
    object and ``rules``, shared with :func:`prep.corte.anexo.acta_textos`), reused
    where its state is the same object. (A running central's corte reuses whole tramos
    instead: :func:`prep.corte.paquete_tramos.tabulate`, the same table.)
    """
    filas, cuentas = filas_y_cuentas(eleccion, actas, estado, rules, memo)
    return tabla_de(eleccion, filas, cuentas, fuera, rules, ultimo_corte)


def tabla_de(eleccion: Eleccion, filas: Sequence[Fila], cuentas: Sequence[int],
             fuera: Sequence[FueraDeCatalogo], rules: RuleSet = DEFAULT_RULES,
             ultimo_corte: bool = False) -> TablaEleccion:
    """The table of ``eleccion`` whose actas' rows are ``filas`` (in publication order)
    and ``cuentas`` their counts (:func:`filas_y_cuentas`, or the sums of its parts')."""
    capturadas, contabilizadas, inconsistencias, lista, c_cs, s_cs = cuentas
    # A registration whose election nobody could tell («No se sabe», eleccion "") may be
    # an acta of any election: listed and counted in every election's file, so that no
    # registered acta vanishes from the publication (docs/publicacion.md).
    fuera_e = tuple(f for f in fuera if f.eleccion in (eleccion.codigo, SIN_ELECCION))
    base = rules.participacion_ultimo_corte if ultimo_corte else rules.participacion
    resumen = Resumen(len(filas), len(fuera_e), capturadas, contabilizadas, inconsistencias,
                      lista, c_cs, s_cs, base)
    return TablaEleccion(eleccion, tuple(filas), fuera_e, resumen, rules.fuera_de_catalogo,
                         rules.fuera_de_catalogo + rules.separador
                         + rules.eleccion_no_identificada, ultimo_corte)


def filas_y_cuentas(eleccion: Eleccion, actas: Sequence[Acta],
                    estado: Mapping[str, ActaEnCorte], rules: RuleSet,
                    memo: MutableMapping[str, Any] | None = None,
                    ) -> tuple[list[Fila], list[int]]:
    """The rows of ``actas`` and their counts: capturadas, contabilizadas,
    inconsistencias, lista nominal, votos con and sin casillas especiales."""
    filas: list[Fila] = []
    append = filas.append
    capturadas = contabilizadas = inconsistencias = lista = c_cs = s_cs = 0
    for acta in actas:
        est = estado.get(acta.clave)
        res: ActaResult | None = None
        if est is not None:
            hecho = None if memo is None else memo.get(acta.clave)
            if hecho is not None and igual(hecho[0], est):
                res = hecho[1]
            else:
                if est.captura is not None:
                    res = evaluate(eleccion, acta.casilla, est.captura, rules, acta.layout)
                elif est.causa_sin_acta is not None:
                    res = sin_acta(est.causa_sin_acta, rules)
                if memo is not None:  # its row is made again (anexo.acta_textos)
                    memo[acta.clave] = (est, res, None)
        if res is not None:
            capturadas += 1
            if res.inconsistente:  # the Consejo's categories (RuleSet.inconsistencias)
                inconsistencias += 1
            if res.contabilizada:
                contabilizadas += 1
                total = res.total_calculado or 0
                lista += acta.casilla.lista_nominal
                c_cs += total
                if not acta.casilla.especial:
                    s_cs += total
        fila: Fila = _NUEVA(Fila)
        _PONER_ACTA(fila, acta)
        _PONER_ESTADO(fila, est)
        _PONER_RESULTADO(fila, res)
        append(fila)
    return filas, [capturadas, contabilizadas, inconsistencias, lista, c_cs, s_cs]
