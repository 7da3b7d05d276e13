"""``prep verify-corte``'s check of the mesas' rows (voto anticipado, prisión preventiva,
en el extranjero: TIPO_CASILLA ``A``, ``P``, ``M``).

A mesa belongs to no sección and has no boletas handed out nor representantes voting in
it (DOMAIN.md), so its row says ``N/A`` there, as INE publishes it: SECCION,
REPRESENTANTES_PP_CI, TOTAL_BOLETAS_SOBRANTES and TOTAL_REP_PARTIDO_CI_VOTARON. And
only a mesa's row may say ``N/A`` for its sección: any other casilla is in one. This
checks both, from the files alone.
"""

from __future__ import annotations

from prep.catalog.model import CAMPOS_SIN_MESA
from prep.catalog.model import TIPOS_MESA
from prep.corte.anexo import NO_APLICA
from prep.corte.anexo import es_fuera
from prep.corte.reader import CsvEleccion

#: The columns a mesa's row publishes as N/A.
SIN_MESA: tuple[str, ...] = ("SECCION", "REPRESENTANTES_PP_CI", *sorted(CAMPOS_SIN_MESA))
_MAX = 20


def problemas_mesas(name: str, parsed: CsvEleccion) -> list[str]:
    """Rows that place a mesa in a sección (or give it boletas or representantes), and
    rows of other casillas with no sección."""
    out: list[str] = []
    columnas = [c for c in SIN_MESA if c in parsed.columnas]
    for fila in parsed.filas:
        if len(out) >= _MAX:
            out.append(f"{name}: … y quizá más filas de mesas mal publicadas")
            break
        if es_fuera(fila):
            continue
        clave = fila.get("CLAVE_ACTA", "").strip("'")
        if fila.get("TIPO_CASILLA") in TIPOS_MESA:
            dicen = [c for c in columnas if fila.get(c) != NO_APLICA]
            if dicen:
                out.append(f"{name}: el acta {clave} es de una mesa "
                           f"(TIPO_CASILLA {fila['TIPO_CASILLA']}), que no está en una sección "
                           f"ni tiene boletas ni representantes, pero publica "
                           f"{', '.join(f'{c} {fila.get(c)!r}' for c in dicen)} (debe ser "
                           f"{NO_APLICA})")
        elif fila.get("SECCION") == NO_APLICA:
            out.append(f"{name}: el acta {clave} es de una casilla de tipo "
                       f"{fila.get('TIPO_CASILLA')!r}, que está en una sección, pero publica "
                       f"SECCION {NO_APLICA}")
    return out
