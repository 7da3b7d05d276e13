"""What the LEEME says of the Consejo's rules in force for one corte: which OBSERVACIONES
count in PORCENTAJE_ACTAS_INCONSISTENCIAS, the base of PORCENTAJE_PARTICIPACION_CIUDADANA
in this corte, and whether this is the *último corte* (issue 28; resources/reglas.toml).

Kept apart from :mod:`prep.corte.leeme` so that the rules' wording lives beside the rules
that decide it, and anyone recomputing line 5 from the rows reads, in the corte itself,
with which rules to do it.
"""

from __future__ import annotations

from prep.rules import CATEGORIAS
from prep.rules import Base
from prep.rules import RuleSet

ULTIMO_CORTE = ("ÚLTIMO CORTE: con este corte terminó la publicación del PREP; no se "
                "publicará otro salvo que se reabra por acuerdo del Consejo.")


def _etiquetas(rules: RuleSet, categorias: frozenset[str]) -> list[str]:
    out: list[str] = []
    for key in CATEGORIAS:
        if key not in categorias:
            continue
        if key == "sin_acta":
            out += sorted(set(rules.sin_acta.values()))
        else:
            out.append(str(getattr(rules, key)))
    return out


def _votos(base: Base) -> str:
    return "TOTAL_VOTOS_S_CS (sin casillas especiales)" if base is Base.SIN_ESPECIALES \
        else "TOTAL_VOTOS_C_CS (con casillas especiales)"


def definiciones(rules: RuleSet) -> list[str]:
    """What each OBSERVACIONES value means (the cases of the Lineamientos del PREP,
    Anexo 13), whether its acta is contabilizada, and how they combine."""
    excede = ("LISTA_NOMINAL + REPRESENTANTES_PP_CI" if rules.excede_suma_representantes
              else "LISTA_NOMINAL")
    si, no = "se contabiliza", "no se contabiliza"
    cuenta = {True: si, False: no}
    vacios = f"«{rules.todos_ilegibles}», «{rules.todos_vacios}», " \
             f"«{rules.todos_ilegibles_o_sin_dato}»"
    out = [
        f"    «{rules.ilegible}»: la cantidad de votos de algún campo de votos (partido, "
        "combinación, candidatura no registrada o nulos) no se puede leer ni en letra ni "
        f"en número; ese campo cuenta 0 y el acta {cuenta[rules.contabiliza_ilegible]}.",
        f"    «{rules.sin_dato}»: la cantidad de votos de algún campo no se asentó ni en "
        f"letra ni en número; ese campo cuenta 0 y el acta "
        f"{cuenta[rules.contabiliza_sin_dato]}.",
        f"    «{rules.excede}»: TOTAL_VOTOS_CALCULADO es mayor que {excede} (en una "
        f"casilla especial, que sus boletas); el acta {no}.",
        f"    {vacios}: todos los campos de votos son ilegibles, todos están vacíos, o "
        f"todos son lo uno o lo otro; el acta {no}.",
        *(f"    «{label}»: no hay acta que capturar, por esa causa; el acta {no}."
          for label in sorted(set(rules.sin_acta.values()))),
        f"    «{rules.fuera_de_catalogo}»: un acta recibida cuyo código no corresponde a "
        "ninguna acta del catálogo; va al final del archivo, cuenta en "
        f"ACTAS_FUERA_CATALOGO y ACTAS_REGISTRADAS y {no}.",
        f"    Se combinan separadas por «{rules.separador}»: «{rules.ilegible}» con "
        f"«{rules.sin_dato}», y cualquiera de las dos con «{rules.excede}» (por ejemplo "
        f"«{rules.excede}{rules.separador}{rules.sin_dato}»). Un acta con alguna "
        f"observación que no se contabiliza {no}. Cuando letra y número difieren, "
        "prevalece la letra y no es una observación.",
    ]
    return out


def descripcion(column: str, rules: RuleSet, ultimo_corte: bool) -> str | None:
    """The LEEME's description of a summary column that depends on the rules (``None``
    for the others)."""
    if column == "PORCENTAJE_ACTAS_INCONSISTENCIAS":
        if rules.inconsistencias == frozenset(CATEGORIAS):
            cuales = ("Actas del catálogo con cualquier OBSERVACIONES, Sin Acta incluida "
                      "(regla «inconsistencias» del instituto)")
        elif not rules.inconsistencias:
            return ("Siempre 0.0000: por acuerdo del Consejo, ninguna observación cuenta "
                    "como inconsistencia.")
        else:
            cuales = ("Actas con alguna de estas OBSERVACIONES: "
                      + "; ".join(_etiquetas(rules, rules.inconsistencias))
                      + " (las demás observaciones no cuentan, por acuerdo del Consejo)")
        return f"{cuales} × 100 / ACTAS_ESPERADAS, truncado a cuatro decimales."
    if column == "PORCENTAJE_PARTICIPACION_CIUDADANA":
        base = rules.participacion_ultimo_corte if ultimo_corte else rules.participacion
        text = (f"{_votos(base)} × 100 / LISTA_NOMINAL_ACTAS_CONTABILIZADAS de la entidad "
                "en este corte")
        if not ultimo_corte and rules.participacion_ultimo_corte is not base:
            text += f"; en el último corte se usa {_votos(rules.participacion_ultimo_corte)}"
        elif ultimo_corte:
            text += " (el último)"
        return (text + ", truncado a cuatro decimales. En el sitio, la de cada distrito, "
                "alcaldía y sección divide siempre TOTAL_VOTOS_S_CS: una casilla especial "
                "no tiene lista nominal propia y sus votos la llevarían por encima de lo "
                "posible; ninguna participación publicada pasa de 100 %.")
    return None
