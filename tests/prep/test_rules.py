"""The publication rules, one row per category of DOMAIN.md ("Rules")."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Casilla
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.rules import DEFAULT_RULES
from prep.rules import Base
from prep.rules import CausaSinActa
from prep.rules import RuleSet
from prep.rules import evaluate
from prep.rules import sin_acta
from prep.values import Captura
from prep.values import Marca

pytestmark = pytest.mark.rapido

IL, SD = Marca.ILEGIBLE, Marca.SIN_DATO

ELECCION = Eleccion("01", "JEFATURA DE GOBIERNO", "1", Ambito.ENTIDAD, (
    Asociacion("PAN", "Partido Acción Nacional", TipoAsociacion.PARTIDO, ("PAN",)),
    Asociacion("MORENA", "Morena", TipoAsociacion.PARTIDO, ("MORENA",)),
    Asociacion("PAN_PRI", "Coalición (PAN-PRI)", TipoAsociacion.COALICION, ("PAN", "PRI")),
))

#: LN 100 + 2 representantes: ceiling 102.
BASICA = Casilla(entidad_id=9, distrito_id=1, demarcacion_id=1, seccion=123, tipo="B",
                 id_casilla=1, ext_contigua=0, lista_nominal=100, representantes=2, boletas=0,
                 ubicacion=1)
#: Especial: lista nominal 0, 2 representantes, 50 boletas: ceiling 50.
ESPECIAL = Casilla(entidad_id=9, distrito_id=1, demarcacion_id=1, seccion=123, tipo="S",
                   id_casilla=1, ext_contigua=0, lista_nominal=0, representantes=2,
                   boletas=50, ubicacion=1)


def captura(pan: object, morena: object, pan_pri: object, nr: object, nulos: object, *,
            previos: tuple[object, object, object, object] = (10, 60, 2, 60),
            asentado: object = 60) -> Captura:
    """A full capture: the previos, the 5 vote fields, TOTAL_VOTOS_ASENTADO."""
    values = (*previos, pan, morena, pan_pri, nr, nulos, asentado)
    return Captura.of(dict(zip(ELECCION.campos_captura, values, strict=True)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Row:
    casilla: Casilla
    captura: Captura
    total: int
    observaciones: str
    contabilizada: bool


ROWS: dict[str, Row] = {
    "limpia": Row(BASICA, captura(20, 30, 5, 1, 4), 60, "", True),
    "ceros": Row(BASICA, captura(0, 0, 0, 0, 0), 0, "", True),
    "ilegible": Row(BASICA, captura(20, IL, 5, 1, 4), 30, "Ilegible", True),
    "sin-dato": Row(BASICA, captura(20, 30, SD, 1, 4), 55, "Sin dato", True),
    "sin-dato-en-nulos": Row(BASICA, captura(20, 30, 5, 1, SD), 56, "Sin dato", True),
    "ilegible-y-sin-dato": Row(BASICA, captura(IL, 30, SD, 1, 4), 35, "Ilegible, Sin dato",
                               True),
    "igual-al-tope": Row(BASICA, captura(50, 50, 1, 0, 1), 102, "", True),
    "excede-por-uno": Row(BASICA, captura(50, 50, 1, 0, 2), 103, "Excede Lista Nominal",
                          False),
    "excede-y-sin-dato": Row(BASICA, captura(50, 50, SD, 1, 9), 110,
                             "Excede Lista Nominal, Sin dato", False),
    "excede-e-ilegible": Row(BASICA, captura(50, 50, IL, 1, 9), 110,
                             "Excede Lista Nominal, Ilegible", False),
    "excede-ilegible-sin-dato": Row(BASICA, captura(100, IL, SD, 1, 9), 110,
                                    "Excede Lista Nominal, Ilegible, Sin dato", False),
    "todos-ilegibles": Row(BASICA, captura(IL, IL, IL, IL, IL), 0, "Todos los campos ilegibles",
                           False),
    "todos-vacios": Row(BASICA, captura(SD, SD, SD, SD, SD), 0, "Todos los campos vacíos", False),
    "todos-mixtos": Row(BASICA, captura(IL, SD, SD, IL, SD), 0,
                        "Todos los campos ilegibles o sin dato", False),
    "un-cero-no-es-todos": Row(BASICA, captura(IL, IL, IL, IL, 0), 0, "Ilegible", True),
    "previos-ilegibles-no-cuentan": Row(
        BASICA, captura(20, 30, 5, 1, 4, previos=(IL, IL, IL, IL), asentado=IL), 60, "", True),
    "previos-sin-dato-no-cuentan": Row(
        BASICA, captura(20, 30, 5, 1, 4, previos=(SD, SD, IL, SD), asentado=SD), 60, "", True),
    "previos-grandes-no-exceden": Row(
        BASICA, captura(20, 30, 5, 1, 4, previos=(9999, 9999, 9999, 9999), asentado=9999),
        60, "", True),
    "especial-limpia": Row(ESPECIAL, captura(20, 20, 0, 0, 0), 40, "", True),
    "especial-igual-a-boletas": Row(ESPECIAL, captura(20, 20, 5, 0, 5), 50, "", True),
    "especial-excede-boletas": Row(ESPECIAL, captura(20, 20, 5, 0, 6), 51,
                                   "Excede Lista Nominal", False),
    "especial-ilegible": Row(ESPECIAL, captura(20, IL, 5, 0, 5), 30, "Ilegible", True),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_category(row: Row) -> None:
    result = evaluate(ELECCION, row.casilla, row.captura)
    assert (result.total_calculado, result.observaciones, result.contabilizada) == (
        row.total, row.observaciones, row.contabilizada)


def test_total_is_sum_of_vote_fields_only() -> None:
    c = captura(1, 20, 300, 4000, 5, previos=(7, 7, 7, 7), asentado=9)
    assert evaluate(ELECCION, Casilla(9, 1, 1, 1, "B", 1, 0, 750, 9999, 0, 1), c
                    ).total_calculado == 1 + 20 + 300 + 4000 + 5


def test_excede_boundary_follows_representantes() -> None:
    """The ceiling is LN + REPRESENTANTES_PP_CI: one more representante, one more vote."""
    c = captura(50, 50, 1, 0, 2)  # 103
    mas_rep = Casilla(9, 1, 1, 123, "B", 1, 0, 100, 3, 0, 1)
    assert evaluate(ELECCION, BASICA, c).observaciones == "Excede Lista Nominal"
    assert evaluate(ELECCION, mas_rep, c).observaciones == ""


def test_especial_ceiling_is_boletas_not_lista_nominal() -> None:
    """LN 0 must not make every especial *Excede*, with or without the representantes."""
    c = captura(20, 20, 0, 0, 0)
    for rules in (DEFAULT_RULES, RuleSet(excede_suma_representantes=False)):
        r = evaluate(ELECCION, ESPECIAL, c, rules)
        assert (r.observaciones, r.contabilizada) == ("", True)


def test_excede_against_lista_nominal_alone_when_configured() -> None:
    rules = RuleSet(excede_suma_representantes=False)
    c = captura(50, 50, 1, 0, 0)  # 101: over LN 100, under LN + rep 102
    assert evaluate(ELECCION, BASICA, c).observaciones == ""
    assert evaluate(ELECCION, BASICA, c, rules).observaciones == "Excede Lista Nominal"


def test_capture_without_non_competing_asociacion() -> None:
    """An acta where PAN_PRI does not compete has no such field: it is not 'Sin dato'."""
    campos = tuple(c for c in ELECCION.campos_captura if c != "PAN_PRI")
    c = Captura(campos, (10, 60, 2, 60, 20, 30, 1, 4, 55))
    r = evaluate(ELECCION, BASICA, c)
    assert (r.total_calculado, r.observaciones, r.contabilizada) == (55, "", True)


@pytest.mark.parametrize("causa, label", [
    (CausaSinActa.PAQUETE_NO_ENTREGADO, "Sin Acta por paquete no entregado"),
    (CausaSinActa.CASILLA_NO_INSTALADA, "Sin Acta por casilla no instalada"),
    (CausaSinActa.PAQUETE_SIN_SOBRE, "Sin Acta por paquete entregado sin sobre"),
])
def test_sin_acta(causa: CausaSinActa, label: str) -> None:
    r = sin_acta(causa)
    assert (r.total_calculado, r.observaciones, r.contabilizada) == (None, label, False)


def test_every_causa_has_a_label() -> None:
    labels = {sin_acta(c).observaciones for c in CausaSinActa}
    assert len(labels) == len(CausaSinActa) == 4
    assert all(label.startswith("Sin Acta") for label in labels)
    assert sin_acta(CausaSinActa.CONTINGENCIA_URNA_ELECTRONICA).observaciones == (
        "Sin Acta por contingencia en urna electrónica")


def test_contingencia_en_urna_electronica_only_for_urnas_electronicas() -> None:
    # Issue 28: the cause exists for casillas de urna electrónica (U) only.
    urna = CausaSinActa.CONTINGENCIA_URNA_ELECTRONICA
    assert urna.aplica_a("U")
    assert not any(urna.aplica_a(t) for t in "BCESAPM")
    for causa in set(CausaSinActa) - {urna}:
        assert all(causa.aplica_a(t) for t in "BCESAPMU")


def test_from_mapping_overrides_label_and_participacion() -> None:
    rules = RuleSet.from_mapping({
        "excede": "Rebasa la Lista Nominal",
        "participacion": "C_CS",
        "sin_acta": {"paquete_sin_sobre": "Sin Acta: paquete sin sobre"},
    })
    assert rules.participacion is Base.CON_ESPECIALES
    assert rules.participacion_ultimo_corte is Base.CON_ESPECIALES  # untouched: INE's
    r = evaluate(ELECCION, BASICA, captura(50, 50, SD, 1, 9), rules)
    assert (r.observaciones, r.contabilizada) == ("Rebasa la Lista Nominal, Sin dato", False)
    assert sin_acta(CausaSinActa.PAQUETE_SIN_SOBRE, rules).observaciones == (
        "Sin Acta: paquete sin sobre")
    # The causes not overridden keep their default labels.
    assert sin_acta(CausaSinActa.PAQUETE_NO_ENTREGADO, rules).observaciones == (
        "Sin Acta por paquete no entregado")
    # The default rules are untouched.
    assert evaluate(ELECCION, BASICA, captura(50, 50, SD, 1, 9)).observaciones == (
        "Excede Lista Nominal, Sin dato")


def test_from_mapping_empty_is_default() -> None:
    assert RuleSet.from_mapping({}) == DEFAULT_RULES


def test_not_counting_ilegible_when_configured() -> None:
    rules = RuleSet.from_mapping({"contabiliza_ilegible": False})
    r = evaluate(ELECCION, BASICA, captura(20, IL, 5, 1, 4), rules)
    assert (r.observaciones, r.contabilizada) == ("Ilegible", False)
    r = evaluate(ELECCION, BASICA, captura(20, 30, SD, 1, 4), rules)
    assert (r.observaciones, r.contabilizada) == ("Sin dato", True)


@pytest.mark.parametrize("data", [{"excedes": "x"}, {"ilegible": "x", "bogus": 1}])
def test_from_mapping_unknown_key_raises(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RuleSet.from_mapping(data)


def test_from_mapping_bad_base_raises() -> None:
    with pytest.raises(ValueError):
        RuleSet.from_mapping({"participacion": "TODOS"})
