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


def descripcion(column: str, rules: RuleSet, ultimo_corte: bool) -> str | None:
    """The LEEME's description of a summary column that depends on the rules (``None``
    for the others)."""
    if column == "PORCENTAJE_ACTAS_INCONSISTENCIAS":
        if rules.inconsistencias == frozenset(CATEGORIAS):
            cuales = ("Actas con cualquier OBSERVACIONES (Sin Acta incluida, como en el "
                      "generador público del INE)")
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
        text = f"{_votos(base)} × 100 / LISTA_NOMINAL_ACTAS_CONTABILIZADAS en este corte"
        if not ultimo_corte and rules.participacion_ultimo_corte is not base:
            text += f"; en el último corte se usa {_votos(rules.participacion_ultimo_corte)}"
        elif ultimo_corte:
            text += " (el último)"
        return text + ", truncado a cuatro decimales."
    return None
