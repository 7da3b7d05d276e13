"""Corte arithmetic (DOMAIN.md, "Publication (cortes)": summary arithmetic and truncated
percentages)."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from decimal import ROUND_DOWN
from decimal import Context
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Demarcacion
from prep.catalog.model import Distrito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.corte.summary import RESUMEN_COLUMNS
from prep.corte.summary import percentage
from prep.corte.summary import tabulate
from prep.rules import Base
from prep.rules import CausaSinActa
from prep.rules import RuleSet
from prep.values import Captura
from prep.values import Marca

pytestmark = pytest.mark.rapido

# --- percentage -----------------------------------------------------------------------------

EXACT = Context(prec=80, rounding=ROUND_DOWN)


def truncated(count: int, base: int) -> Decimal:
    return EXACT.divide(Decimal(count * 100), Decimal(base)).quantize(
        Decimal("0.0001"), rounding=ROUND_DOWN, context=EXACT)


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_percentage_is_truncated_to_four_decimals(count: int, base: int) -> None:
    text = percentage(count, base)
    assert re.fullmatch(r"\d+\.\d{4}", text), text
    assert Decimal(text) == truncated(count, base)
    exact = Fraction(count * 100, base)
    value = Fraction(text)
    assert value <= exact
    assert exact - value < Fraction(1, 10_000)


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_percentage_of_part_never_exceeds_100(count: int, base: int) -> None:
    count = min(count, base)
    value = Decimal(percentage(count, base))
    assert Decimal(0) <= value <= Decimal(100)
    assert (value == 100) == (count == base)


@pytest.mark.parametrize("count, base, expected", [
    (1234569, 10_000_000, "12.3456"),  # 12.34569: truncated, not rounded to 12.3457
    (1, 3, "33.3333"),
    (2, 3, "66.6666"),  # not 66.6667
    (5, 6, "83.3333"),
    (1, 7, "14.2857"),
    (0, 5, "0.0000"),
    (0, 0, "0.0000"),
    (7, 0, "0.0000"),
    (138, 138, "100.0000"),
    (1, 1, "100.0000"),
    (165, 300, "55.0000"),
    (1, 10**7, "0.0000"),
    (1, 10**6, "0.0001"),
    (29, 1000, "2.9000"),  # 0.029 is not exact in binary floats
])
def test_percentage_examples(count: int, base: int, expected: str) -> None:
    assert percentage(count, base) == expected


# --- summary arithmetic ---------------------------------------------------------------------

ELECCION = Eleccion("01", "JEFATURA DE GOBIERNO", "1", Ambito.ENTIDAD, tuple(
    Asociacion(k, k, TipoAsociacion.PARTIDO, (k,)) for k in ("PAN", "PRI", "MORENA")))
OTRA = Eleccion("02", "ALCALDÍAS", "3", Ambito.DEMARCACION, tuple(
    Asociacion(k, k, TipoAsociacion.PARTIDO, (k,)) for k in ("PAN", "MORENA")))


def casilla(distrito: int, seccion: int, tipo: str, id_: int, ext: int, ln: int, rep: int,
            boletas: int = 0) -> Casilla:
    return Casilla(9, distrito, 1, seccion, tipo, id_, ext, ln, rep, boletas, 1)


C1 = casilla(1, 10, "B", 1, 0, 100, 2)  # clean, 65 votes
C2 = casilla(1, 10, "C", 1, 0, 200, 3)  # Ilegible, 100 votes, counted
C3 = casilla(1, 11, "B", 1, 0, 300, 2)  # Excede (303 > 302), not counted
C4 = casilla(1, 11, "S", 1, 0, 0, 2, boletas=50)  # especial, 40 votes, counted
C5 = casilla(2, 5, "B", 1, 0, 400, 2)  # sin acta
C6 = casilla(2, 5, "E", 1, 1, 250, 2)  # received, not yet captured

CATALOG = Catalog(
    entidad_id=9, entidad="CIUDAD DE MÉXICO", fecha_eleccion="2027-06-06",
    demarcaciones=(Demarcacion(1, "COYOACÁN"),),
    distritos=(Distrito(1, "COYOACÁN", 1), Distrito(2, "COYOACÁN", 1)),
    casillas=(C6, C4, C2, C5, C1, C3),
    elecciones=(ELECCION, OTRA),
)

T0 = datetime(2027, 6, 7, 3, 0, tzinfo=UTC)


def votos(pan: int | Marca, pri: int | Marca, morena: int | Marca, nr: int | Marca,
          nulos: int | Marca) -> Captura:
    vals = (5, 60, 1, 60, pan, pri, morena, nr, nulos, 60)
    return Captura.of(dict(zip(ELECCION.campos_captura, vals, strict=True)))


def clave(c: Casilla, e: Eleccion = ELECCION) -> str:
    return c.clave + e.codigo


ESTADO: dict[str, ActaEnCorte] = {
    clave(C1): ActaEnCorte(clave(C1), acopio=T0, captura=votos(10, 20, 30, 1, 4)),
    clave(C2): ActaEnCorte(clave(C2), acopio=T0, captura=votos(50, Marca.ILEGIBLE, 50, 0, 0)),
    clave(C3): ActaEnCorte(clave(C3), acopio=T0, captura=votos(100, 100, 100, 0, 3)),
    clave(C4): ActaEnCorte(clave(C4), acopio=T0, captura=votos(10, 10, 20, 0, 0)),
    clave(C5): ActaEnCorte(clave(C5), acopio=T0,
                           causa_sin_acta=CausaSinActa.CASILLA_NO_INSTALADA),
    clave(C6): ActaEnCorte(clave(C6), acopio=T0),
}
FUERA = (
    FueraDeCatalogo("099999B010001", "01", T0),
    FueraDeCatalogo("099998B010003", "03", T0),  # another election: not counted here
    FueraDeCatalogo("09ZZZ", "", T0),  # no election known: counted in every election
)

EXPECTED: dict[str, str] = {
    "ACTAS_ESPERADAS": "6",
    "ACTAS_REGISTRADAS": "7",  # 5 capturadas + 2 fuera de catálogo
    "ACTAS_FUERA_CATALOGO": "2",  # this election's, and the one of no known election
    "ACTAS_CAPTURADAS": "5",  # includes the sin acta, not the pending one
    "PORCENTAJE_ACTAS_CAPTURADAS": "83.3333",
    "ACTAS_CONTABILIZADAS": "3",  # C1, C2 (Ilegible is counted), C4
    "PORCENTAJE_ACTAS_CONTABILIZADAS": "50.0000",
    "PORCENTAJE_ACTAS_INCONSISTENCIAS": "50.0000",  # C2, C3, C5
    "ACTAS_NO_CONTABILIZADAS": "2",  # C3, C5
    "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": "300",  # 100 + 200 + 0
    "TOTAL_VOTOS_C_CS": "205",  # 65 + 100 + 40
    "TOTAL_VOTOS_S_CS": "165",  # 65 + 100
    "PORCENTAJE_PARTICIPACION_CIUDADANA": "55.0000",  # 165 × 100 / 300
}


def test_tabulate_rows_in_publication_order() -> None:
    tabla = tabulate(ELECCION, CATALOG.actas(ELECCION), ESTADO, FUERA)
    assert [f.acta.casilla for f in tabla.filas] == [C1, C2, C3, C4, C5, C6]
    assert [f.eleccion for f in tabla.fuera] == ["01", ""]
    obs = [f.resultado.observaciones if f.resultado else None for f in tabla.filas]
    assert obs == ["", "Ilegible", "Excede Lista Nominal", "",
                   "Sin Acta por casilla no instalada", None]


@pytest.mark.parametrize("column", RESUMEN_COLUMNS)
def test_summary_column(column: str) -> None:
    tabla = tabulate(ELECCION, CATALOG.actas(ELECCION), ESTADO, FUERA)
    values = dict(zip(RESUMEN_COLUMNS, tabla.resumen.values(), strict=True))
    assert values[column] == EXPECTED[column]


def test_summary_properties() -> None:
    r = tabulate(ELECCION, CATALOG.actas(ELECCION), ESTADO, FUERA).resumen
    assert (r.esperadas, r.registradas, r.fuera_catalogo, r.capturadas, r.contabilizadas,
            r.no_contabilizadas, r.inconsistencias) == (6, 7, 2, 5, 3, 2, 3)
    assert (r.lista_nominal_contabilizadas, r.votos_c_cs, r.votos_s_cs) == (300, 205, 165)


@pytest.mark.parametrize("rules, ultimo, expected", [
    (RuleSet(), False, "55.0000"),
    # INE's generator: the último corte's participación includes especiales (205/300).
    (RuleSet(), True, "68.3333"),
    (RuleSet(participacion_ultimo_corte=Base.SIN_ESPECIALES), False, "55.0000"),
    (RuleSet(participacion_ultimo_corte=Base.SIN_ESPECIALES), True, "55.0000"),
    (RuleSet(participacion=Base.CON_ESPECIALES), False, "68.3333"),
], ids=["default", "default-ultimo", "scs-ultimo-not-last", "scs-ultimo-last",
        "ccs-always"])
def test_participacion_base(rules: RuleSet, ultimo: bool, expected: str) -> None:
    r = tabulate(ELECCION, CATALOG.actas(ELECCION), ESTADO, FUERA, rules, ultimo_corte=ultimo)
    values = dict(zip(RESUMEN_COLUMNS, r.resumen.values(), strict=True))
    assert values["PORCENTAJE_PARTICIPACION_CIUDADANA"] == expected
    # The vote totals themselves never depend on the base.
    assert (values["TOTAL_VOTOS_C_CS"], values["TOTAL_VOTOS_S_CS"]) == ("205", "165")


def test_empty_corte() -> None:
    r = tabulate(ELECCION, CATALOG.actas(ELECCION), {}, ())
    assert r.resumen.values() == ("6", "0", "0", "0", "0.0000", "0", "0.0000", "0.0000", "0",
                                  "0", "0", "0", "0.0000")


def test_only_fuera_de_catalogo() -> None:
    r = tabulate(ELECCION, CATALOG.actas(ELECCION), {}, FUERA[:1])
    values = dict(zip(RESUMEN_COLUMNS, r.resumen.values(), strict=True))
    assert (values["ACTAS_REGISTRADAS"], values["ACTAS_FUERA_CATALOGO"],
            values["ACTAS_CAPTURADAS"], values["PORCENTAJE_ACTAS_CAPTURADAS"]) == (
        "1", "1", "0", "0.0000")


def test_custom_rules_change_counts() -> None:
    """Not counting Ilegible actas moves C2 out of the counted totals."""
    rules = RuleSet(contabiliza_ilegible=False)
    r = tabulate(ELECCION, CATALOG.actas(ELECCION), ESTADO, FUERA, rules).resumen
    assert (r.contabilizadas, r.inconsistencias, r.lista_nominal_contabilizadas,
            r.votos_c_cs, r.votos_s_cs) == (2, 3, 100, 105, 65)
